import {
  type Authenticator,
  type AuthOutcome,
  applyConnectUsername,
  type ConnectRequest,
} from '@mqtt-warden/core';
import { SasTokenError } from './errors.js';
import { SAS_TOKEN_PREFIX } from './sas-token.js';
import { type VerifySasTokenOptions, verifySasToken } from './verify-sas-token.js';

/** Options of {@link createSasTokenAuthenticator}. */
export interface SasTokenAuthenticatorOptions extends VerifySasTokenOptions {
  /** Require the MQTT client id to equal the token's device id (Azure's rule). Default true. */
  readonly requireClientIdMatch?: boolean;
  /**
   * The principal's username is always the token's device id. How the CONNECT username must relate to it:
   * `must-match` (default: equal), `azure` (`{hostName}/{deviceId}/…`, e.g.
   * `hub.example.com/dev1/?api-version=2021-04-12`, kept in `claimedUsername`) or `claimed` (any, kept in
   * `claimedUsername`). Only `must-match` proves the CONNECT username (`provesUsername`).
   */
  readonly connectUsername?: 'must-match' | 'azure' | 'claimed';
  /** Roles given to every principal. */
  readonly roles?: readonly string[];
}

const PREFIX = Buffer.from(SAS_TOKEN_PREFIX);

/**
 * An authenticator (name `sas-token`) that reads an Azure IoT Hub style SAS token from the MQTT password.
 * Passwords that are not SAS tokens are ignored (next authenticator). The device id becomes the principal's
 * id and username (see `connectUsername`); its `expiresAt` is the token's `se`.
 *
 * @example
 * ```ts
 * const sas = createSasTokenAuthenticator({ hostName: 'hub.example.com', getKey: (id) => deviceKeys.get(id) });
 * const guard = createGuard({ authenticators: [sas, passwords], authorizer });
 * ```
 */
export function createSasTokenAuthenticator(options: SasTokenAuthenticatorOptions): Authenticator {
  const requireClientIdMatch = options.requireClientIdMatch ?? true;
  const roles = options.roles ?? [];
  const connectUsername = options.connectUsername ?? 'must-match';
  return {
    name: 'sas-token',
    provesUsername: connectUsername === 'must-match',
    async authenticate(request: ConnectRequest): Promise<AuthOutcome> {
      const { password } = request;
      const bytes = password && Buffer.from(password.buffer, password.byteOffset, password.byteLength);
      if (!bytes?.subarray(0, PREFIX.length).equals(PREFIX)) {
        return { outcome: 'ignore' };
      }
      let token: Awaited<ReturnType<typeof verifySasToken>>;
      try {
        token = await verifySasToken(bytes.toString('utf8'), options);
      } catch (error) {
        if (!(error instanceof SasTokenError)) throw error;
        const reason = error.code === 'ERR_SAS_TOKEN_EXPIRED' ? 'expired' : 'bad-credentials';
        return { outcome: 'deny', reason, message: error.message };
      }
      if (requireClientIdMatch && request.clientId !== token.deviceId) {
        return {
          outcome: 'deny',
          reason: 'not-authorized',
          message: 'the client id must equal the device id',
        };
      }
      if (connectUsername === 'azure' && !namesDevice(request.username, token.hostName, token.deviceId)) {
        return {
          outcome: 'deny',
          reason: 'not-authorized',
          message: 'the username does not name the token device',
        };
      }
      const principal = {
        id: token.deviceId,
        clientId: request.clientId,
        username: token.deviceId,
        method: 'sas-token',
        roles,
        attributes: { 'device.id': token.deviceId, 'sas.hostName': token.hostName },
        expiresAt: token.expiresAt,
        remoteAddress: request.transport.remoteAddress,
        tls: request.transport.tls,
      };
      return applyConnectUsername(
        principal,
        request,
        connectUsername === 'must-match' ? 'must-match' : 'claimed',
      );
    },
  };
}

/** Azure IoT Hub's MQTT username: `{hostName}/{deviceId}/…`, the host name case-insensitive. */
function namesDevice(username: string | undefined, hostName: string, deviceId: string): boolean {
  if (username === undefined) return false;
  const prefix = `${hostName}/${deviceId}/`;
  return (
    username.length >= prefix.length &&
    username.slice(0, hostName.length).toLowerCase() === hostName.toLowerCase() &&
    username.slice(hostName.length, prefix.length) === `/${deviceId}/`
  );
}

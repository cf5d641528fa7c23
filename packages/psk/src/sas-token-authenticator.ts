import type { Authenticator, AuthOutcome, ConnectRequest } from '@mqtt-warden/core';
import { SasTokenError } from './errors.js';
import { SAS_TOKEN_PREFIX } from './sas-token.js';
import { type VerifySasTokenOptions, verifySasToken } from './verify-sas-token.js';

/** Options of {@link createSasTokenAuthenticator}. */
export interface SasTokenAuthenticatorOptions extends VerifySasTokenOptions {
  /** Require the MQTT client id to equal the token's device id (Azure's rule). Default true. */
  readonly requireClientIdMatch?: boolean;
  /**
   * How the MQTT username must relate to the device id: `'device-id'` (equal), `'azure'`
   * (`{hostName}/{deviceId}/…`, e.g. `hub.example.com/dev1/?api-version=2021-04-12`) or `false` (any). Default false.
   */
  readonly username?: 'device-id' | 'azure' | false;
  /** Roles given to every principal. */
  readonly roles?: readonly string[];
}

const PREFIX = Buffer.from(SAS_TOKEN_PREFIX);

/**
 * An authenticator (name `sas-token`) that reads an Azure IoT Hub style SAS token from the MQTT password.
 * Passwords that are not SAS tokens are ignored (next authenticator). The device id becomes the principal;
 * its `expiresAt` is the token's `se`.
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
  return {
    name: 'sas-token',
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
      if (!usernameMatches(request.username, token.hostName, token.deviceId, options.username ?? false)) {
        return {
          outcome: 'deny',
          reason: 'not-authorized',
          message: 'the username does not name the token device',
        };
      }
      return {
        outcome: 'allow',
        principal: {
          id: token.deviceId,
          clientId: request.clientId,
          username: request.username,
          method: 'sas-token',
          roles,
          attributes: { 'device.id': token.deviceId, 'sas.hostName': token.hostName },
          expiresAt: token.expiresAt,
          remoteAddress: request.transport.remoteAddress,
          tls: request.transport.tls,
        },
      };
    },
  };
}

function usernameMatches(
  username: string | undefined,
  hostName: string,
  deviceId: string,
  rule: 'device-id' | 'azure' | false,
): boolean {
  if (rule === false) return true;
  if (username === undefined) return false;
  if (rule === 'device-id') return username === deviceId;
  const prefix = `${hostName}/${deviceId}/`;
  return (
    username.length >= prefix.length &&
    username.slice(0, hostName.length).toLowerCase() === hostName.toLowerCase() &&
    username.slice(hostName.length, prefix.length) === `/${deviceId}/`
  );
}

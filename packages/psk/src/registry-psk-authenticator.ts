import {
  type Authenticator,
  type AuthOutcome,
  applyConnectUsername,
  type ConnectRequest,
  type ConnectUsernameMode,
  connectUsernameMode,
  type Principal,
} from '@mqtt-warden/core';
import type { RegistryPskEntry } from './registry-psk-keys.js';

/** Options of {@link createRegistryPskAuthenticator}. */
export interface RegistryPskAuthenticatorOptions {
  /**
   * `must-match` (default) refuses a CONNECT username other than the device's; `claimed` accepts any and
   * keeps it in `claimedUsername`. See {@link ConnectUsernameMode}.
   */
  readonly connectUsername?: ConnectUsernameMode;
}

const refuse = (message: string): AuthOutcome => ({ outcome: 'deny', reason: 'not-authorized', message });

/**
 * An authenticator (name `psk`) for TLS-PSK connections of registry devices, over the same
 * {@link RegistryPskKeys} the `pskCallback` reads: the identity must still belong to a device that is
 * enabled, inside its validity window, with the credential neither revoked nor expired (checked again
 * at CONNECT, since the handshake may be older than a revocation), and the client id must be one of the
 * device's `clientIds`. The principal is the device's: id = device id, username = the device's username
 * (proven by the key), its roles, groups and attributes, plus `psk.identity`, `device.id` and
 * `registry.device`; it expires with the device or credential. Connections without a PSK identity are
 * ignored (the next authenticator decides).
 *
 * @example
 * ```ts
 * const keys = await RegistryPskKeys.load(store);
 * const guard = createGuard({ authenticators: [createRegistryPskAuthenticator(keys)], authorizer });
 * ```
 */
export function createRegistryPskAuthenticator(
  keys: { lookup(identity: string): RegistryPskEntry | undefined },
  options: RegistryPskAuthenticatorOptions = {},
): Authenticator {
  const mode = connectUsernameMode(options.connectUsername, true, 'the registry device');
  return {
    name: 'psk',
    provesUsername: mode === 'must-match',
    authenticate(request: ConnectRequest): AuthOutcome {
      const identity = request.transport.pskIdentity;
      if (identity === undefined) return { outcome: 'ignore' };
      const entry = keys.lookup(identity);
      if (!entry)
        return refuse('the PSK identity is no longer valid (device disabled, expired or key revoked)');
      const { device } = entry;
      if (!device.clientIds.includes(request.clientId)) {
        return refuse('this client id is not registered for the device');
      }
      const expiresAt = Math.min(
        device.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY,
        entry.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY,
        entry.revokedAt?.getTime() ?? Number.POSITIVE_INFINITY,
      );
      const principal: Principal = {
        id: device.id,
        clientId: request.clientId,
        username: device.username,
        method: 'psk',
        roles: device.roles,
        groups: device.groups,
        attributes: {
          ...device.attributes,
          'psk.identity': identity,
          'device.id': device.id,
          'registry.device': device.id,
        },
        remoteAddress: request.transport.remoteAddress,
        tls: true,
        ...(Number.isFinite(expiresAt) && { expiresAt }),
      };
      // No CONNECT username is fine: the key proves the device's; another one is refused (must-match).
      return request.username === undefined
        ? { outcome: 'allow', principal }
        : applyConnectUsername(principal, request, mode);
    },
  };
}

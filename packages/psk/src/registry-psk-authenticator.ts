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
      return applyConnectUsernameIfSent(
        devicePrincipal(entry, request.clientId, request.transport.remoteAddress),
        request,
        mode,
      );
    },
  };
}

/**
 * Revalidates a connected client after a registry change (the Aedes adapter's `changes.revalidate`): a
 * principal that {@link createRegistryPskAuthenticator} built is answered again from the same
 * {@link RegistryPskKeys} once the change was re-read: `undefined` (disconnect) when the device is disabled,
 * expired or deleted, its PSK credential revoked, the client id no longer its own or its username changed; else the device's
 * current principal (new roles, groups, attributes). Other principals are returned unchanged.
 *
 * @example
 * ```ts
 * attachGuard(broker, guard, { pskIdentityOf, changes: { source: store, revalidate: revalidateRegistryPsk(keys) } });
 * ```
 */
export function revalidateRegistryPsk(keys: {
  current(identity: string, deviceId: string): Promise<RegistryPskEntry | undefined>;
}): (principal: Principal) => Promise<Principal | undefined> {
  return async (principal) => {
    const identity = principal.attributes['psk.identity'];
    const deviceId = principal.attributes['registry.device'];
    if (principal.method !== 'psk' || typeof identity !== 'string' || typeof deviceId !== 'string') {
      return principal;
    }
    const entry = await keys.current(identity, deviceId);
    if (!entry?.device.clientIds.includes(principal.clientId)) return undefined;
    // The username the session proved is no longer the device's: it logs in again under the new one.
    if (principal.username !== entry.device.username) return undefined;
    const { claimedUsername } = principal;
    return {
      ...devicePrincipal(entry, principal.clientId, principal.remoteAddress),
      ...(claimedUsername !== undefined && { claimedUsername }),
    };
  };
}

function applyConnectUsernameIfSent(
  principal: Principal,
  request: ConnectRequest,
  mode: ConnectUsernameMode,
): AuthOutcome {
  // No CONNECT username is fine: the key proves the device's; another one is refused (must-match).
  return request.username === undefined
    ? { outcome: 'allow', principal }
    : applyConnectUsername(principal, request, mode);
}

/** The principal of a registry device logged in with one of its PSK identities. */
function devicePrincipal(
  entry: RegistryPskEntry,
  clientId: string,
  remoteAddress: string | undefined,
): Principal {
  const { device, identity } = entry;
  const expiresAt = Math.min(
    device.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY,
    entry.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY,
    entry.revokedAt?.getTime() ?? Number.POSITIVE_INFINITY,
  );
  return {
    id: device.id,
    clientId,
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
    remoteAddress,
    tls: true,
    ...(Number.isFinite(expiresAt) && { expiresAt }),
  };
}

import {
  type Authenticator,
  type AuthOutcome,
  applyConnectUsername,
  type ConnectRequest,
  type ConnectUsernameMode,
  connectUsernameMode,
} from '@mqtt-warden/core';
import type { PskKeySource } from './psk-store.js';

/** Options of {@link createPskAuthenticator}. */
export interface PskAuthenticatorOptions {
  /**
   * When given, the identity must still be in it: a key removed after the handshake (a reload)
   * refuses the connect with `not-authorized`.
   */
  readonly keys?: PskKeySource;
  /**
   * Prove the username from the PSK identity, like Mosquitto's `use_identity_as_username`. Without it the
   * principal has no username (the CONNECT one is kept only in `claimedUsername`).
   */
  readonly useIdentityAsUsername?: boolean;
  /**
   * With `useIdentityAsUsername`: `must-match` (default) refuses a CONNECT username other than the
   * identity; `claimed` accepts any and keeps it in `claimedUsername`. See {@link ConnectUsernameMode}.
   */
  readonly connectUsername?: ConnectUsernameMode;
  /** Require the MQTT client id to equal the PSK identity. */
  readonly requireClientIdMatch?: boolean;
  /** Roles given to every PSK principal. */
  readonly roles?: readonly string[];
}

/**
 * An authenticator (name `psk`) for connections whose TLS-PSK handshake already proved the key:
 * it turns `transport.pskIdentity` into a principal (id = identity, attribute `psk.identity`, username =
 * identity with `useIdentityAsUsername`) and ignores connections without a PSK identity, so the next
 * authenticator can decide them. The CONNECT username never becomes the principal's username.
 *
 * @example
 * ```ts
 * const guard = createGuard({ authenticators: [createPskAuthenticator({ keys: store })], authorizer });
 * ```
 */
export function createPskAuthenticator(options: PskAuthenticatorOptions = {}): Authenticator {
  const roles = options.roles ?? [];
  const proves = options.useIdentityAsUsername === true;
  const mode = connectUsernameMode(options.connectUsername, proves, 'useIdentityAsUsername');
  return {
    name: 'psk',
    provesUsername: mode === 'must-match',
    authenticate(request: ConnectRequest): AuthOutcome {
      const identity = request.transport.pskIdentity;
      if (identity === undefined) return { outcome: 'ignore' };
      if (options.keys && options.keys.get(identity) === undefined) {
        return { outcome: 'deny', reason: 'not-authorized', message: 'the PSK identity is no longer known' };
      }
      if (options.requireClientIdMatch && request.clientId !== identity) {
        return {
          outcome: 'deny',
          reason: 'not-authorized',
          message: 'the client id must equal the PSK identity',
        };
      }
      const principal = {
        id: identity,
        clientId: request.clientId,
        ...(proves && { username: identity }),
        method: 'psk',
        roles,
        attributes: { 'psk.identity': identity },
        remoteAddress: request.transport.remoteAddress,
        tls: true,
      };
      return applyConnectUsername(principal, request, mode);
    },
  };
}

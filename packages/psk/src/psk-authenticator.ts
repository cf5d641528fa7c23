import type { Authenticator, AuthOutcome, ConnectRequest } from '@mqtt-warden/core';
import type { PskKeySource } from './psk-store.js';

/** Options of {@link createPskAuthenticator}. */
export interface PskAuthenticatorOptions {
  /**
   * When given, the identity must still be in it: a key removed after the handshake (a reload)
   * refuses the connect with `not-authorized`.
   */
  readonly keys?: PskKeySource;
  /** Use the PSK identity as the principal's username, like Mosquitto's `use_identity_as_username`. */
  readonly useIdentityAsUsername?: boolean;
  /** Require the MQTT client id to equal the PSK identity. */
  readonly requireClientIdMatch?: boolean;
  /** Roles given to every PSK principal. */
  readonly roles?: readonly string[];
}

/**
 * An authenticator (name `psk`) for connections whose TLS-PSK handshake already proved the key:
 * it turns `transport.pskIdentity` into a principal (id = identity, attribute `psk.identity`) and
 * ignores connections without a PSK identity, so the next authenticator can decide them.
 *
 * @example
 * ```ts
 * const guard = createGuard({ authenticators: [createPskAuthenticator({ keys: store })], authorizer });
 * ```
 */
export function createPskAuthenticator(options: PskAuthenticatorOptions = {}): Authenticator {
  const roles = options.roles ?? [];
  return {
    name: 'psk',
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
      return {
        outcome: 'allow',
        principal: {
          id: identity,
          clientId: request.clientId,
          username: options.useIdentityAsUsername ? identity : request.username,
          method: 'psk',
          roles,
          attributes: { 'psk.identity': identity },
          remoteAddress: request.transport.remoteAddress,
          tls: true,
        },
      };
    },
  };
}

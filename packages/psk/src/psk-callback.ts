import type { TLSSocket } from 'node:tls';
import type { PskKeySource } from './psk-store.js';

// Node does not expose the PSK identity after the handshake, so the callback records it per socket.
const identities = new WeakMap<object, string>();

/** Options of {@link createPskCallback}. */
export interface PskCallbackOptions {
  /** Called for an unknown identity (for logs and metrics); the handshake then fails. Never given a key. */
  readonly onUnknownIdentity?: (identity: string, socket: TLSSocket) => void;
}

/**
 * A `pskCallback` for `tls.createServer`: returns the identity's key (or null, which fails the handshake
 * with `unknown_psk_identity`) and remembers the identity so that {@link pskIdentityOf} can read it later,
 * e.g. from Aedes' `client.conn` when building the `ConnectRequest`.
 *
 * @example
 * ```ts
 * const server = tls.createServer(
 *   { pskCallback: createPskCallback(store), ciphers: 'PSK-AES128-GCM-SHA256', maxVersion: 'TLSv1.2' },
 *   broker.handle,
 * );
 * ```
 */
export function createPskCallback(
  keys: PskKeySource,
  options: PskCallbackOptions = {},
): (socket: TLSSocket, identity: string) => Uint8Array | null {
  return (socket, identity) => {
    const key = keys.get(identity);
    if (key === undefined) {
      options.onUnknownIdentity?.(identity, socket);
      return null;
    }
    identities.set(socket, identity);
    return key;
  };
}

/**
 * The PSK identity that a socket's client presented, when its handshake went through
 * {@link createPskCallback}; undefined for any other socket.
 *
 * @example
 * ```ts
 * const transport = { tls: true, pskIdentity: pskIdentityOf(client.conn) };
 * ```
 */
export function pskIdentityOf(socket: object): string | undefined {
  return identities.get(socket);
}

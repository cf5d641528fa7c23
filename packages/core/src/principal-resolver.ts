import type { Principal } from './types.js';

/** What a broker tells us about a client when it asks for an authorization without credentials. */
export interface PrincipalQuery {
  readonly username?: string;
  /** Absent when the broker does not send it (go-auth superuser checks, EMQX templates without `${clientid}`). */
  readonly clientId?: string;
  readonly remoteAddress?: string;
}

/**
 * Rebuilds the principal of an already-connected client for a stateless authorization request
 * (EMQX, go-auth and RabbitMQ HTTP backends send username and client id, never the password).
 * Answers `undefined` for an unknown client; adapters then deny. A throw is an internal error
 * and never becomes an allow.
 *
 * @example
 * ```ts
 * const resolver: PrincipalResolver = {
 *   resolve: ({ username, clientId }) =>
 *     username === 'dev1' ? { id: 'dev1', username, clientId: clientId ?? '', method: 'password', roles: ['device'], attributes: {} } : undefined,
 * };
 * ```
 */
export interface PrincipalResolver {
  resolve(query: PrincipalQuery): Principal | undefined | Promise<Principal | undefined>;
}

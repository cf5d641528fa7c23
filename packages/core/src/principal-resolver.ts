import type { ConnectRequest, Principal } from './types.js';

/** What a broker tells us about a client when it asks for an authorization without credentials. */
export interface PrincipalQuery {
  readonly username?: string;
  /** Absent when the broker does not send it (go-auth superuser checks, EMQX templates without `${clientid}`). */
  readonly clientId?: string;
  readonly remoteAddress?: string;
  /**
   * Attributes the broker keeps for the session and sends back with each request (EMQX `client_attrs`
   * named in the authz body template), as set by {@link PrincipalResolver.attributesFor} at login.
   * Untrusted input: a resolver believes only what it can verify (a value it signed).
   */
  readonly attributes?: Readonly<Record<string, string>>;
}

/**
 * Rebuilds the principal of an already-connected client for a stateless authorization request
 * (EMQX, go-auth and RabbitMQ HTTP backends send username and client id, never the password).
 * It answers for the **session** that authenticated with that username and client id, never for a
 * name alone: a username the client merely chose must not find somebody else's principal.
 * Answers `undefined` for an unknown session; adapters then refuse. A throw is an internal error
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
  /**
   * Attributes for a broker that carries per-session attributes (EMQX `client_attrs` in the authn
   * reply) to keep and send back as {@link PrincipalQuery.attributes}, e.g. a signed session ticket
   * from which the resolver can rebuild the principal after it forgot the session. Called after a
   * successful login; values are secrets of the session and must not be logged.
   */
  attributesFor?(request: ConnectRequest, principal: Principal): Readonly<Record<string, string>> | undefined;
}

/**
 * `resolver.resolve(query)`, with a promise of another library or realm made native: adapters tell a
 * waiting answer from a principal by `instanceof Promise` (a remembered session needs no promise turn),
 * and a foreign thenable must be awaited, never taken for the principal. A throw propagates.
 *
 * @example
 * ```ts
 * const found = resolvePrincipal(resolver, { username: 'dev1', clientId: 'dev1' });
 * const principal = found instanceof Promise ? await found : found;
 * ```
 */
export function resolvePrincipal(
  resolver: PrincipalResolver,
  query: PrincipalQuery,
): Principal | undefined | Promise<Principal | undefined> {
  const found = resolver.resolve(query);
  return found === undefined ||
    found instanceof Promise ||
    typeof (found as { then?: unknown }).then !== 'function'
    ? found
    : Promise.resolve(found);
}

import type { Principal } from '@mqtt-warden/core';
import type { UserEntry } from './credential-store.js';

/** The connection a {@link userPrincipal} is for. */
export interface UserConnection {
  readonly clientId: string;
  readonly remoteAddress?: string;
  readonly tls?: boolean;
}

/**
 * The principal (method `password`) of a credential store user on one connection: id (default the
 * username), username and expiry from the entry, with its roles, groups, attributes and superuser flag. The password authenticator builds it
 * after a login; a resolver builds it for a user whose authorization request carries no password.
 *
 * @example
 * ```ts
 * const entry = await store.get('dev1');
 * if (entry && !entry.disabled) guard.authorize(userPrincipal(entry, { clientId: 'dev1' }), request);
 * ```
 */
export function userPrincipal(entry: UserEntry, connection: UserConnection): Principal {
  return {
    id: entry.id ?? entry.username,
    clientId: connection.clientId,
    username: entry.username,
    method: 'password',
    roles: entry.roles ?? [],
    groups: entry.groups,
    attributes: entry.attributes ?? {},
    superuser: entry.superuser === true,
    ...(entry.expiresAt ? { expiresAt: entry.expiresAt.getTime() } : {}),
    remoteAddress: connection.remoteAddress,
    tls: connection.tls,
  };
}

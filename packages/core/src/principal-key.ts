import type { Principal } from './types.js';

const keys = new WeakMap<Principal, string>();

/**
 * A string that identifies everything about a principal that can change an authorization decision.
 * Content-based rather than per-object, so that HTTP adapters, which rebuild the principal on every
 * request, still hit the decision cache. Memoized per object because principals are immutable.
 */
export function principalKey(principal: Principal): string {
  let key = keys.get(principal);
  if (key === undefined) {
    key = JSON.stringify([
      principal.id,
      principal.clientId,
      principal.username ?? null,
      principal.method,
      principal.roles,
      principal.groups ?? null,
      sortedEntries(principal.attributes),
      principal.superuser === true,
      principal.expiresAt ?? null,
      principal.rules ?? null,
      principal.remoteAddress ?? null,
      principal.tls ?? null,
    ]);
    keys.set(principal, key);
  }
  return key;
}

function sortedEntries(record: Readonly<Record<string, unknown>>): [string, unknown][] {
  return Object.keys(record)
    .sort()
    .map((k) => [k, record[k]]);
}

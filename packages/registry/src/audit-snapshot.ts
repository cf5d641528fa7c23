/** Field names whose values never reach an audit record: keys, password hashes, private JWKs, token hashes. */
const SECRET_FIELDS = new Set(['key', 'hash', 'privateJwk', 'secretHash']);

/**
 * The JSON form of a record as the audit log keeps it: dates as ISO strings and every secret field
 * replaced by `"[secret]"`, so an audit reader never sees key material (password hashes included:
 * they can be brute-forced offline).
 *
 * @example
 * ```ts
 * auditSnapshot({ kind: 'psk', identity: 'a', key: new Uint8Array(16) }); // { kind: 'psk', identity: 'a', key: '[secret]' }
 * ```
 */
export function auditSnapshot(value: unknown): unknown {
  if (value === undefined) return undefined;
  return JSON.parse(
    JSON.stringify(value, (name, field) => (SECRET_FIELDS.has(name) ? '[secret]' : field)),
  ) as unknown;
}

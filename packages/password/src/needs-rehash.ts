import { argon2idOptions, type HashPasswordOptions } from './hash-password.js';
import { parseHash } from './parse-hash.js';
import type { StoredHash } from './stored-hash.js';

/**
 * Whether a stored hash should be replaced by a fresh {@link hashPassword} result the next time its
 * password is known (a successful login): true for every format but argon2id, and for argon2id below
 * the target's memory, time, output or salt size. Throws {@link PasswordFormatError} for a malformed value.
 *
 * @example
 * ```ts
 * if (ok && needsRehash(entry.hash)) await store.updateHash(username, await hashPassword(password));
 * ```
 */
export function needsRehash(stored: string | StoredHash, target: HashPasswordOptions = {}): boolean {
  const parsed = parseHash(stored);
  if (parsed.kind !== 'argon2' || parsed.format !== 'argon2id' || parsed.version !== 19) return true;
  const t = argon2idOptions(target);
  return (
    parsed.memoryCost < t.memoryCost ||
    parsed.timeCost < t.timeCost ||
    parsed.hash.length < t.hashLength ||
    parsed.salt.length < t.saltLength
  );
}

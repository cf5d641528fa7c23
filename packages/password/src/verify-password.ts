import { createHash, pbkdf2, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import bcrypt from 'bcryptjs';
import { argon2Raw } from './argon2-raw.js';
import { type ParsedHash, parseHash } from './parse-hash.js';
import { passwordBytes } from './password-bytes.js';
import type { StoredHash } from './stored-hash.js';

const pbkdf2Async = promisify(pbkdf2);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Checks a password against a stored hash in any supported format: PHC argon2id/argon2i/argon2d
 * (parameters in any order, as libargon2, Mosquitto 2.1 and go-auth write them), bcrypt
 * `$2a$`/`$2b$`/`$2y$`, Mosquitto `$6$` and `$7$` (2.0 and 2.1 salt sizes), go-auth `PBKDF2$…` and
 * `$pbkdf2-sha512$…`, and EMQX's prefix-less hashes as {@link StoredHash} objects.
 *
 * The comparison is constant-time. Resolves `false` for a wrong password; rejects with
 * {@link PasswordFormatError} when the stored value is unknown or malformed, so it is never `true` by accident.
 * bcrypt only sees the first 72 bytes of a password; like Go's bcrypt, longer passwords never match.
 *
 * @example
 * ```ts
 * if (await verifyPassword(request.password, entry.hash)) allow();
 * ```
 */
export async function verifyPassword(
  password: string | Uint8Array,
  stored: string | StoredHash,
): Promise<boolean> {
  const parsed = parseHash(stored);
  return verifyParsed(passwordBytes(password), parsed);
}

/** Verification of an already parsed hash. Internal: stores parse once at load time. */
export async function verifyParsed(password: Buffer, parsed: ParsedHash): Promise<boolean> {
  switch (parsed.kind) {
    case 'argon2': {
      const actual = await argon2Raw(password, {
        type: parsed.format,
        version: parsed.version,
        memoryCost: parsed.memoryCost,
        timeCost: parsed.timeCost,
        parallelism: parsed.parallelism,
        salt: parsed.salt,
        hashLength: parsed.hash.length,
      });
      return timingSafeEqual(actual, parsed.hash);
    }
    case 'bcrypt': {
      let text: string;
      try {
        text = utf8.decode(password);
      } catch {
        return false; // bcryptjs hashes UTF-8 text; bytes that are not UTF-8 cannot match.
      }
      if (password.length > 72) return false;
      const actual = Buffer.from(await bcrypt.hash(text, parsed.value.slice(0, 29)), 'latin1');
      const expected = Buffer.from(parsed.value, 'latin1');
      return actual.length === expected.length && timingSafeEqual(actual, expected);
    }
    case 'digest': {
      const actual = createHash(parsed.digest)
        .update(parsed.prefix)
        .update(password)
        .update(parsed.suffix)
        .digest();
      return timingSafeEqual(actual, parsed.hash);
    }
    case 'pbkdf2': {
      const actual = await pbkdf2Async(
        password,
        parsed.salt,
        parsed.iterations,
        parsed.hash.length,
        parsed.digest,
      );
      return timingSafeEqual(actual, parsed.hash);
    }
    case 'plain':
      // Digests first, so the time taken does not depend on where or whether the lengths differ.
      return timingSafeEqual(
        createHash('sha256').update(parsed.prefix).update(password).update(parsed.suffix).digest(),
        createHash('sha256').update(parsed.hash).digest(),
      );
  }
}

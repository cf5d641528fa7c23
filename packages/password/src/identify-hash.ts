import { type HashFormat, parseHash } from './parse-hash.js';
import type { StoredHash } from './stored-hash.js';

/**
 * Validates a stored hash without a password and names its format, e.g. to check a credential file
 * at load time. Throws {@link PasswordFormatError} when {@link verifyPassword} could not use it.
 *
 * @example
 * ```ts
 * identifyHash('$7$101$…$…'); // 'mosquitto-pbkdf2'
 * ```
 */
export function identifyHash(stored: string | StoredHash): HashFormat {
  return parseHash(stored).format;
}

import { ConfigError } from '@mqtt-warden/core';
import { PskFileError } from './errors.js';

/**
 * Parses an EMQX PSK file (`psk_authentication.init_file`): one `identity<separator>secret` per line,
 * split on the first separator. As in EMQX, the secret's bytes are the key as written (a 64-character
 * hex string is a 64-byte key, not hex-decoded), a trailing CR is dropped, and there are no comments:
 * a non-empty line without the separator is an error (EMQX aborts loading with `bad_format`).
 *
 * @throws {PskFileError} on the first invalid line.
 * @example
 * ```ts
 * const keys = parseEmqxPskFile('client1:secret1\nclient2:s:e:c\n'); // client2 → "s:e:c"
 * ```
 */
export function parseEmqxPskFile(
  text: string,
  options: { separator?: string } = {},
): Map<string, Uint8Array> {
  const separator = options.separator ?? ':';
  if (separator === '') throw new ConfigError('the PSK file separator must not be empty');
  const lines = text.split('\n');
  // A final newline ends the last line; it does not start an empty one.
  if (lines.at(-1) === '') lines.pop();
  const keys = new Map<string, Uint8Array>();
  lines.forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    const at = line.indexOf(separator);
    if (at < 0) throw new PskFileError(index + 1, `expected "identity${separator}secret"`);
    const identity = line.slice(0, at);
    const secret = line.slice(at + separator.length);
    if (identity === '') throw new PskFileError(index + 1, 'empty PSK identity');
    if (secret === '') throw new PskFileError(index + 1, `empty secret for identity "${identity}"`);
    keys.set(identity, Buffer.from(secret, 'utf8'));
  });
  return keys;
}

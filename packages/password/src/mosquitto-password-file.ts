import type { UserEntry } from './credential-store.js';
import { CredentialFileError, PasswordFormatError } from './errors.js';
import { identifyHash } from './identify-hash.js';

/**
 * Reads a Mosquitto `password_file` (`username:hash` lines, as written by `mosquitto_passwd`): lines
 * starting with `#` and lines without `:` are skipped; username and hash are trimmed; text after a
 * second `:` is ignored (Mosquitto 2.0's parser). Like Mosquitto 2.1, an entry with an empty username,
 * an unusable hash or a repeated username makes the whole file invalid instead of being dropped.
 *
 * @example
 * ```ts
 * const users = parseMosquittoPasswordFile(await readFile('/etc/mosquitto/passwd', 'utf8'), 'passwd');
 * ```
 */
export function parseMosquittoPasswordFile(text: string, file?: string): UserEntry[] {
  const users: UserEntry[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.startsWith('#') || !line.includes(':')) return;
    const [name = '', hash = ''] = line.split(':');
    const username = name.trim();
    const where = { file, line: i + 1 };
    if (username === '') throw new CredentialFileError('empty username', where);
    if (seen.has(username)) throw new CredentialFileError(`user "${username}" appears twice`, where);
    try {
      identifyHash(hash.trim());
    } catch (error) {
      if (!(error instanceof PasswordFormatError)) throw error;
      throw new CredentialFileError(`user "${username}": ${error.message}`, where, { cause: error });
    }
    seen.add(username);
    users.push({ username, hash: hash.trim() });
  });
  return users;
}

/** Returns the file with `username`'s line set to `hash` (appended when new), as `mosquitto_passwd` does. */
export function setMosquittoPassword(text: string, username: string, hash: string): string {
  checkUsername(username);
  const lines = linesOf(text);
  const at = lines.findIndex((line) => lineUser(line) === username);
  if (at >= 0) lines[at] = `${username}:${hash}`;
  else lines.push(`${username}:${hash}`);
  return `${lines.join('\n')}\n`;
}

/** Returns the file without `username`'s line, or undefined when the user is not in it. */
export function deleteMosquittoPassword(text: string, username: string): string | undefined {
  const lines = linesOf(text);
  const kept = lines.filter((line) => lineUser(line) !== username);
  if (kept.length === lines.length) return undefined;
  return kept.length === 0 ? '' : `${kept.join('\n')}\n`;
}

/** `mosquitto_passwd` refuses usernames with `:` or control characters; so do we. */
export function checkUsername(username: string): void {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (username === '' || /[:\u0000-\u001f\u007f]/.test(username)) {
    throw new CredentialFileError('a username must be non-empty, without ":" or control characters');
  }
}

function linesOf(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

function lineUser(line: string): string | undefined {
  if (line.startsWith('#') || !line.includes(':')) return undefined;
  return line.slice(0, line.indexOf(':')).trim();
}

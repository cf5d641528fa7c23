import { Document, isMap, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import type { UserEntry } from './credential-store.js';
import { CredentialFileError, PasswordFormatError } from './errors.js';
import { identifyHash } from './identify-hash.js';
import { checkUsername } from './mosquitto-password-file.js';

/** Syntax of a users file; JSON is read with the YAML parser (a superset) to get line numbers. */
export type UsersFileFormat = 'yaml' | 'json';

const userSchema = z.strictObject({
  hash: z.union([z.string(), z.record(z.string(), z.unknown())]),
  roles: z.array(z.string()).optional(),
  groups: z.array(z.string()).optional(),
  superuser: z.boolean().optional(),
  attributes: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
  passwordChangedAt: z.iso.datetime({ offset: true }).optional(),
  disabled: z.boolean().optional(),
});

/**
 * Reads a users file:
 *
 * ```yaml
 * users:
 *   dev1:
 *     hash: $argon2id$v=19$m=19456,t=2,p=1$…$…   # any format verifyPassword accepts,
 *     roles: [device]                            # or a StoredHash object (EMQX, go-auth utf-8 salts)
 *     groups: [site-berlin]
 *     attributes: { site: berlin }
 *     superuser: false
 *     passwordChangedAt: 2025-05-01T10:00:00Z
 *     disabled: false
 * ```
 *
 * Throws {@link CredentialFileError} with file and line for any mistake, including an unusable hash.
 *
 * @example
 * ```ts
 * const users = parseUsersFile(await readFile('users.yaml', 'utf8'), 'yaml', 'users.yaml');
 * ```
 */
export function parseUsersFile(text: string, format: UsersFileFormat, file?: string): UserEntry[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax) {
    throw new CredentialFileError(`invalid ${format.toUpperCase()}: ${syntax.message.split('\n')[0]}`, {
      file,
      line: syntax.linePos?.[0].line,
    });
  }
  const lineOf = (path: readonly PropertyKey[]) => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node?.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  const data: unknown = doc.toJS();
  if (data === null) return []; // an empty file
  if (typeof data !== 'object' || Object.keys(data).some((k) => k !== 'users')) {
    throw new CredentialFileError('expected an object with one key, "users"', { file, line: 1 });
  }
  const users = (data as { users?: unknown }).users;
  if (users === undefined || users === null) return [];
  if (typeof users !== 'object' || Array.isArray(users)) {
    throw new CredentialFileError('"users" must map usernames to entries', { file, line: lineOf(['users']) });
  }
  return Object.entries(users).map(([username, raw]) => {
    const at = (path: readonly PropertyKey[] = []) => ({ file, line: lineOf(['users', username, ...path]) });
    try {
      checkUsername(username);
    } catch (error) {
      throw new CredentialFileError((error as Error).message, at());
    }
    const parsed = userSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const path =
        issue.code === 'unrecognized_keys' ? [...issue.path, ...issue.keys.slice(0, 1)] : issue.path;
      const field = path.length ? ` field ${path.join('.')}` : '';
      throw new CredentialFileError(`user "${username}"${field}: ${issue.message}`, at(path));
    }
    const { passwordChangedAt, hash, ...rest } = parsed.data;
    try {
      identifyHash(hash as never);
    } catch (error) {
      if (!(error instanceof PasswordFormatError)) throw error;
      throw new CredentialFileError(`user "${username}": ${error.message}`, at(['hash']), { cause: error });
    }
    return {
      ...rest,
      username,
      hash: hash as UserEntry['hash'],
      ...(passwordChangedAt ? { passwordChangedAt: new Date(passwordChangedAt) } : {}),
    };
  });
}

/**
 * Returns the users file with `username`'s hash and `passwordChangedAt` set, creating the user when
 * new and keeping every other field (and, for YAML, comments).
 */
export function setUserPassword(
  text: string,
  format: UsersFileFormat,
  username: string,
  hash: string,
  changedAt: Date,
): string {
  checkUsername(username);
  if (format === 'json') {
    const data = readJson(text);
    const users = ownObject(data, 'users');
    const user = ownObject(users, username);
    user.hash = hash;
    user.passwordChangedAt = changedAt.toISOString();
    return `${JSON.stringify(data, null, 2)}\n`;
  }
  const doc = yamlToEdit(text);
  doc.setIn(['users', username, 'hash'], hash);
  doc.setIn(['users', username, 'passwordChangedAt'], changedAt.toISOString());
  return doc.toString();
}

/** Returns the users file without `username`, or undefined when the user is not in it. */
export function deleteUser(text: string, format: UsersFileFormat, username: string): string | undefined {
  if (format === 'json') {
    const data = readJson(text);
    const users = data.users as Record<string, unknown> | undefined;
    if (!users || !Object.hasOwn(users, username)) return undefined;
    delete users[username];
    return `${JSON.stringify(data, null, 2)}\n`;
  }
  const doc = yamlToEdit(text);
  if (!doc.hasIn(['users', username])) return undefined;
  doc.deleteIn(['users', username]);
  return doc.toString();
}

/** A YAML users file to edit: empty, or a mapping whose `users` (if present) is a mapping. */
function yamlToEdit(text: string): Document {
  const doc = text.trim() === '' ? new Document({ users: {} }) : parseDocument(text);
  const users = isMap(doc.contents) ? doc.contents.get('users', true) : undefined;
  if (doc.errors.length > 0 || !isMap(doc.contents) || (users !== undefined && !isMap(users))) {
    throw new CredentialFileError(
      'not a users file: expected YAML with a "users" mapping of usernames to entries',
    );
  }
  return doc;
}

function readJson(text: string): Record<string, unknown> {
  let data: unknown = {};
  try {
    if (text.trim() !== '') data = JSON.parse(text);
  } catch {
    // JSON.parse quotes the text around the mistake: hashes stay out of the message.
    throw new CredentialFileError('not a users file: invalid JSON');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new CredentialFileError('expected a JSON object with a "users" key');
  }
  return data as Record<string, unknown>;
}

/** The object at `parent[key]`, created when missing; defined as an own property so `__proto__` stays data. */
function ownObject(parent: Record<string, unknown>, key: string): Record<string, unknown> {
  if (!Object.hasOwn(parent, key)) {
    Object.defineProperty(parent, key, { value: {}, enumerable: true, writable: true, configurable: true });
  }
  const value = parent[key];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CredentialFileError(`"${key}" must be an object`);
  }
  return value as Record<string, unknown>;
}

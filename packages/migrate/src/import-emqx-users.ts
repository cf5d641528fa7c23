import {
  checkUsername,
  hashPassword,
  identifyHash,
  parseUsersFile,
  type StoredHash,
} from '@mqtt-warden/password';
import type { ImportOptions } from './import-mosquitto-acl.js';
import { type ImportReport, ReportBuilder, type ReportEntry } from './import-report.js';
import { MigrationError } from './migration-error.js';

/**
 * EMQX's password hashing settings for the built-in database (`password_hash_algorithm`), which the
 * export does not carry. Default: `sha256` with the salt as `prefix`, EMQX's default.
 */
export type EmqxHashSettings =
  | {
      readonly name: 'plain' | 'md5' | 'sha' | 'sha256' | 'sha512';
      readonly saltPosition?: 'prefix' | 'suffix' | 'disable';
    }
  | { readonly name: 'bcrypt' }
  | {
      readonly name: 'pbkdf2';
      readonly macFun: 'sha' | 'sha224' | 'sha256' | 'sha384' | 'sha512';
      readonly iterations: number;
      readonly dkLength?: number;
    };

/** Options of {@link importEmqxUsers}. */
export interface EmqxUsersImportOptions extends ImportOptions {
  /** `csv` or `json`; default: from the file name, else from the content (`[` starts JSON). */
  readonly format?: 'csv' | 'json';
  readonly hash?: EmqxHashSettings;
}

/** A users import's result: the users file (YAML) and the report (which never holds a hash or password). */
export interface UsersImportResult {
  readonly usersYaml: string;
  readonly report: ImportReport;
}

interface Row {
  readonly where: { readonly line?: number; readonly path?: string };
  readonly fields: Readonly<Record<string, unknown>>;
}

/**
 * Imports an EMQX built-in database user export (CSV with header `user_id,password_hash,salt,is_superuser`
 * or `user_id,password,is_superuser`, or a JSON array of objects with those keys) as a users file.
 * Hashes are kept as they are, as {@link StoredHash} objects with the algorithm the EMQX authenticator
 * used (`options.hash`); plain-text passwords (the `password` column) are hashed with argon2id.
 * `is_superuser` becomes `superuser: true`. A user whose name or hash cannot be used is refused (listed in
 * the report by `user_id`, never with its hash); a file EMQX could not import throws a {@link MigrationError}.
 *
 * @example
 * ```ts
 * const { usersYaml, report } = await importEmqxUsers(await readFile('users.csv', 'utf8'), {
 *   file: 'users.csv',
 *   hash: { name: 'sha256', saltPosition: 'suffix' },
 * });
 * ```
 */
export async function importEmqxUsers(
  text: string,
  options: EmqxUsersImportOptions,
): Promise<UsersImportResult> {
  const { file } = options;
  const settings: EmqxHashSettings = options.hash ?? { name: 'sha256', saltPosition: 'prefix' };
  const format =
    options.format ??
    (/\.json$/i.test(file)
      ? 'json'
      : /\.csv$/i.test(file)
        ? 'csv'
        : text.trimStart().startsWith('[')
          ? 'json'
          : 'csv');
  const rows = format === 'json' ? jsonRows(text, file) : csvRows(text, file);
  const report = new ReportBuilder();
  const users = new Map<string, { hash: string | StoredHash; superuser?: true }>();

  for (const { where, fields } of rows) {
    const userId = fields.user_id;
    const entry = (message: string): ReportEntry => ({
      file,
      ...where,
      text: `user_id=${typeof userId === 'string' ? userId : JSON.stringify(userId)}`,
      message,
    });
    if (typeof userId !== 'string' || userId === '') {
      report.refused.push(entry('user_id must be a non-empty string'));
      continue;
    }
    try {
      checkUsername(userId);
    } catch (error) {
      report.refused.push(entry(`not a username mqtt-warden accepts: ${(error as Error).message}`));
      continue;
    }
    if (users.has(userId)) {
      report.refused.push(entry('a second entry for this user_id (the first one is kept)'));
      continue;
    }
    const superuser = parseSuperuser(fields.is_superuser);
    if (superuser === undefined) {
      report.refused.push(entry('is_superuser must be true or false'));
      continue;
    }
    let hash: string | StoredHash;
    if (fields.password !== undefined && fields.password_hash === undefined) {
      if (typeof fields.password !== 'string' || fields.password === '') {
        report.refused.push(entry('password must be a non-empty string'));
        continue;
      }
      hash = await hashPassword(fields.password);
    } else {
      const stored = storedHash(settings, fields.password_hash, fields.salt);
      if (typeof stored === 'string') {
        report.refused.push(entry(stored));
        continue;
      }
      try {
        identifyHash(stored);
      } catch (error) {
        report.refused.push(entry(`the hash does not fit ${settings.name}: ${(error as Error).message}`));
        continue;
      }
      hash = stored;
    }
    users.set(userId, { hash, ...(superuser && { superuser: true as const }) });
    report.imported.push(entry(superuser ? 'user, superuser (skips topic checks)' : 'user'));
  }

  report.notes.push(
    `hashes are read as EMQX ${describe(settings)} (--hash-algorithm, --salt-position, --pbkdf2-* to change): a user whose password then fails to verify was hashed differently`,
    'user_id is read as the username (EMQX user_id_type = username, the default); with user_id_type = clientid the users log in by client id in EMQX',
    'roles: none; grant them in the policy (users: or bindings:). is_superuser became superuser: true, which skips topic checks as in EMQX',
  );
  const lines = [
    `# Imported from the EMQX user export ${file} by "mqtt-warden import emqx-users".`,
    'users:',
    ...[...users].map(([name, user]) => `  ${JSON.stringify(name)}: ${JSON.stringify(user)}`),
  ];
  const usersYaml = `${lines.join('\n')}\n`;
  // What the importer writes must load; a failure here is a bug, never a partial file.
  parseUsersFile(usersYaml, 'yaml', 'imported users');
  return { usersYaml, report: report.build() };
}

function describe(settings: EmqxHashSettings): string {
  if (settings.name === 'pbkdf2') {
    return `pbkdf2 (mac_fun ${settings.macFun}, ${settings.iterations} iterations${settings.dkLength ? `, dk_length ${settings.dkLength}` : ''})`;
  }
  if (settings.name === 'bcrypt') return 'bcrypt';
  return `${settings.name} with salt_position ${settings.saltPosition ?? 'prefix'}`;
}

/** The user's hash as a StoredHash, or why it cannot be one. */
function storedHash(settings: EmqxHashSettings, hash: unknown, salt: unknown): StoredHash | string {
  if (typeof hash !== 'string' || hash === '') return 'password_hash must be a non-empty string';
  if (salt !== undefined && salt !== null && typeof salt !== 'string') return 'salt must be a string';
  const saltText = typeof salt === 'string' ? salt : '';
  switch (settings.name) {
    case 'bcrypt':
      return { algorithm: 'bcrypt', hash };
    case 'pbkdf2':
      return {
        algorithm: 'pbkdf2',
        macFun: settings.macFun,
        iterations: settings.iterations,
        ...(settings.dkLength !== undefined && { dkLength: settings.dkLength }),
        salt: saltText,
        hash,
      };
    default:
      return {
        algorithm: settings.name,
        hash,
        salt: saltText,
        saltPosition: settings.saltPosition ?? 'prefix',
      };
  }
}

function parseSuperuser(value: unknown): boolean | undefined {
  if (value === undefined || value === null || value === '' || value === false || value === 'false')
    return false;
  if (value === true || value === 'true') return true;
  return undefined;
}

function jsonRows(text: string, file: string): Row[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new MigrationError(`not JSON: ${(error as Error).message}`, { file });
  }
  if (!Array.isArray(data)) throw new MigrationError('expected a JSON array of users', { file });
  return data.map((item, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new MigrationError(`[${i}] must be an object with user_id and password_hash or password`, {
        file,
      });
    }
    return { where: { path: `[${i}]` }, fields: item as Record<string, unknown> };
  });
}

const CSV_HEADERS = [
  ['user_id', 'password_hash', 'salt', 'is_superuser'],
  ['user_id', 'password', 'is_superuser'],
];

function csvRows(text: string, file: string): Row[] {
  const lines = text.split(/\r?\n/);
  const header = splitCsvLine(lines[0] ?? '', file, 1).map((h) => h.trim());
  const known = CSV_HEADERS.find(
    (h) => h.length === header.length && h.every((name) => header.includes(name)),
  );
  if (!known) {
    throw new MigrationError(
      `the first line must be the header "user_id,password_hash,salt,is_superuser" or "user_id,password,is_superuser"`,
      { file, line: 1 },
    );
  }
  const rows: Row[] = [];
  lines.slice(1).forEach((line, i) => {
    if (line.trim() === '') return;
    const values = splitCsvLine(line, file, i + 2);
    if (values.length !== header.length) {
      throw new MigrationError(`expected ${header.length} fields, found ${values.length}`, {
        file,
        line: i + 2,
      });
    }
    rows.push({
      where: { line: i + 2 },
      fields: Object.fromEntries(header.map((name, j) => [name, values[j]])),
    });
  });
  return rows;
}

/** One CSV line: fields split on commas; a field in double quotes may hold commas and `""`. */
function splitCsvLine(line: string, file: string, lineNumber: number): string[] {
  const fields: string[] = [];
  let pos = 0;
  for (;;) {
    if (line[pos] === '"') {
      let value = '';
      pos++;
      for (;;) {
        const end = line.indexOf('"', pos);
        if (end === -1) throw new MigrationError('unterminated quoted field', { file, line: lineNumber });
        value += line.slice(pos, end);
        pos = end + 1;
        if (line[pos] !== '"') break;
        value += '"';
        pos++;
      }
      fields.push(value);
      if (pos < line.length && line[pos] !== ',') {
        throw new MigrationError('a quoted field must be followed by "," or the end of the line', {
          file,
          line: lineNumber,
        });
      }
    } else {
      const end = line.indexOf(',', pos);
      fields.push(line.slice(pos, end === -1 ? line.length : end));
      pos = end === -1 ? line.length : end;
    }
    if (pos >= line.length) return fields;
    pos++; // the comma
    if (pos === line.length) return [...fields, ''];
  }
}

import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { CredentialStore } from './credential-store.js';
import { CredentialFileError } from './errors.js';
import { createMemoryStore } from './memory-store.js';
import { parseMosquittoPasswordFile } from './mosquitto-password-file.js';
import { parseUsersFile } from './users-file.js';

/** `yaml`/`json` users files, or a Mosquitto `password_file`. */
export type CredentialFileFormat = 'yaml' | 'json' | 'mosquitto';

export interface FileStoreOptions {
  readonly path: string;
  /** Default: from the extension (`.yaml`/`.yml`, `.json`), otherwise a Mosquitto password_file. */
  readonly format?: CredentialFileFormat;
}

/** A {@link CredentialStore} backed by a file. */
export interface FileStore extends CredentialStore {
  readonly path: string;
  readonly format: CredentialFileFormat;
  /**
   * Reads the file again and swaps all users at once. If the file is unreadable or invalid, the
   * previous users stay in force and the {@link CredentialFileError} is thrown for the caller to report.
   */
  reload(): Promise<void>;
}

/** The format {@link openFileStore} assumes for a path. */
export function credentialFileFormat(path: string): CredentialFileFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  if (ext === '.json') return 'json';
  return 'mosquitto';
}

/**
 * Loads users from a YAML/JSON users file (hashes plus roles, groups, attributes, superuser) or imports a
 * Mosquitto `password_file`, validating every hash. Call `reload()` (e.g. on SIGHUP) after editing it.
 *
 * @example
 * ```ts
 * const store = await openFileStore({ path: '/etc/mqtt-warden/users.yaml' });
 * process.on('SIGHUP', () => store.reload().catch((e) => log.error(e.message)));
 * ```
 */
export async function openFileStore(options: FileStoreOptions): Promise<FileStore> {
  const { path } = options;
  const format = options.format ?? credentialFileFormat(path);
  const memory = createMemoryStore(await load(path, format));
  return {
    path,
    format,
    get: memory.get,
    entries: memory.entries,
    onChange: memory.onChange,
    async reload() {
      memory.replace(await load(path, format));
    },
  };
}

async function load(path: string, format: CredentialFileFormat) {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CredentialFileError(`cannot read the file (${(error as NodeJS.ErrnoException).code})`, {
      file: path,
    });
  }
  return format === 'mosquitto' ? parseMosquittoPasswordFile(text, path) : parseUsersFile(text, format, path);
}

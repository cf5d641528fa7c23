import { WardenError } from './errors.js';

/**
 * A config, policy, suite or credential file that cannot be read (code `ERR_FILE_UNREADABLE`). The
 * message names the file and says what to do instead of a bare ENOENT or EISDIR.
 *
 * @example
 * ```ts
 * try { text = await readFile(file, 'utf8'); }
 * catch (error) { throw new FileReadError(file, 'policy', error); }
 * // → 'cannot read the policy file policy.yaml: it does not exist; check the path …'
 * ```
 */
export class FileReadError extends WardenError {
  readonly file: string;

  constructor(file: string, what: string, cause: unknown) {
    super('ERR_FILE_UNREADABLE', `cannot read the ${what} file ${file}: ${reason(cause)}`, { cause });
    this.file = file;
  }
}

function reason(cause: unknown): string {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'it does not exist; check the path, or write a starter config, policy and users file with "mqtt-warden init DIR"';
    case 'EISDIR':
      return 'it is a directory; give the path of the file inside it';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied; make it readable by the user that runs mqtt-warden';
    case 'ENOTDIR':
      return 'a part of the path is not a directory; check the path';
    default:
      return code ? `the system reported ${code}` : 'unknown error';
  }
}

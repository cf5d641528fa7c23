import { WardenError } from '@mqtt-warden/core';

/**
 * A source file the old broker itself would refuse (code `ERR_MIGRATION_INPUT`): nothing can be imported
 * from it faithfully. `file`, `line` and (where known) `column` say where; the message says what the
 * broker objects to.
 *
 * @example
 * ```ts
 * try {
 *   parseMosquittoAclFile('topic bad a/#', 'acl.conf');
 * } catch (error) {
 *   if (error instanceof MigrationError) console.error(error.message); // acl.conf:1: invalid access "bad"…
 * }
 * ```
 */
export class MigrationError extends WardenError {
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(message: string, where: { file?: string; line?: number; column?: number } = {}) {
    const prefix = [where.file, where.line, where.column].filter((part) => part !== undefined).join(':');
    super('ERR_MIGRATION_INPUT', prefix ? `${prefix}: ${message}` : message);
    this.file = where.file;
    this.line = where.line;
    this.column = where.column;
  }
}

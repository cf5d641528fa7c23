import { readFile } from 'node:fs/promises';
import { inspect } from 'node:util';
import { ConfigError } from '@mqtt-warden/core';
import { strictObject } from '@mqtt-warden/policy';
import { z } from 'zod';

type Source = { readonly value: string } | { readonly file: string } | { readonly env: string };

/**
 * A secret from the config (HMAC key, client secret): written inline, read from a file (`{ file: PATH }`,
 * one trailing newline dropped) or from an environment variable (`{ env: NAME }`). It prints as
 * `[redacted]` in JSON, `util.inspect` and pino, so logging a config never leaks it; only
 * {@link Secret.reveal} returns the value.
 *
 * @example
 * ```ts
 * const secret = new Secret({ env: 'WARDEN_JWT_SECRET' }, 'warden.yaml:12:17');
 * const value = await secret.reveal(); // ConfigError naming warden.yaml:12:17 when unset
 * ```
 */
export class Secret {
  readonly #source: Source;
  /** Where the config wrote it (`file:line:column`), for error messages. */
  where: string;

  constructor(source: Source, where = 'config') {
    this.#source = source;
    this.where = where;
  }

  /** The value. Throws a ConfigError (never containing the value) when the file or variable is missing or empty. */
  async reveal(): Promise<string> {
    const source = this.#source;
    let value: string | undefined;
    if ('value' in source) value = source.value;
    else if ('env' in source) {
      value = process.env[source.env];
      if (value === undefined) {
        throw new ConfigError(`${this.where}: the environment variable ${source.env} is not set`);
      }
    } else {
      try {
        value = (await readFile(source.file, 'utf8')).replace(/\r?\n$/, '');
      } catch (error) {
        throw new ConfigError(
          `${this.where}: cannot read the secret file ${source.file} (${(error as NodeJS.ErrnoException).code})`,
        );
      }
    }
    if (value === '') throw new ConfigError(`${this.where}: the secret is empty`);
    return value;
  }

  /** The same secret with a relative file path resolved by `resolvePath`. */
  withPath(resolvePath: (path: string) => string): Secret {
    return 'file' in this.#source ? new Secret({ file: resolvePath(this.#source.file) }, this.where) : this;
  }

  toJSON(): string {
    return '[redacted]';
  }

  toString(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return 'Secret([redacted])';
  }
}

/**
 * Config schema of a secret: a non-empty string, `{ file: PATH }` or `{ env: NAME }`; parses to a
 * {@link Secret}.
 */
export const secretSchema = z
  .union([
    z.string().min(1, 'write the secret, or { file: PATH } or { env: NAME }'),
    strictObject({ file: z.string().min(1, 'write a file path') }),
    strictObject({
      env: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'write an environment variable name such as WARDEN_SECRET'),
    }),
  ])
  .transform((input) => new Secret(typeof input === 'string' ? { value: input } : input))
  .describe(
    'A secret: written inline, { file: PATH } (one trailing newline dropped) or { env: NAME }. Never logged.',
  );

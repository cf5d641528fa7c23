import { z } from 'zod';

/**
 * A password hash kept as fields rather than one string: EMQX's built-in database and SQL rows, which
 * store no format prefix, and go-auth PBKDF2 strings whose salt encoding is configuration, not data.
 *
 * - digests (`md5`, `sha` = SHA-1, `sha256`, `sha512`) are lowercase or uppercase hex of
 *   `salt‖password` (`saltPosition: 'prefix'`, the EMQX default), `password‖salt` (`'suffix'`) or the
 *   password alone (`'disable'`); the salt is used as text, exactly as stored.
 * - `plain` stores `salt‖password`, `password‖salt` or the password alone in clear, by the same
 *   `saltPosition` (EMQX `plain`; EMQX gives `plain` users an empty salt unless one is set).
 * - `pbkdf2` is PBKDF2-HMAC with `macFun`, hex output of `dkLength` bytes (default: the digest size),
 *   the salt used as text.
 * - `bcrypt` is EMQX's bcrypt column (a standard `$2b$` string).
 * - `go-auth-pbkdf2` is a go-auth `PBKDF2$…` or `$pbkdf2-sha512$…` string with `hasher_salt_encoding`.
 *
 * @example
 * ```ts
 * await verifyPassword('secret', { algorithm: 'sha256', salt: 'e1c9…', saltPosition: 'prefix', hash: '5b2e…' });
 * ```
 */
export type StoredHash =
  | {
      readonly algorithm: 'plain' | 'md5' | 'sha' | 'sha256' | 'sha512';
      readonly hash: string;
      readonly salt?: string;
      readonly saltPosition?: 'prefix' | 'suffix' | 'disable';
    }
  | {
      readonly algorithm: 'pbkdf2';
      readonly macFun: 'sha' | 'sha224' | 'sha256' | 'sha384' | 'sha512';
      readonly iterations: number;
      readonly dkLength?: number;
      readonly salt: string;
      readonly hash: string;
    }
  | { readonly algorithm: 'bcrypt'; readonly hash: string }
  | {
      readonly algorithm: 'go-auth-pbkdf2';
      readonly hash: string;
      readonly saltEncoding: 'base64' | 'utf-8';
    };

/** Boundary schema for {@link StoredHash} objects read from files or callers. */
export const storedHashSchema: z.ZodType<StoredHash> = z.discriminatedUnion('algorithm', [
  z.strictObject({
    algorithm: z.enum(['plain', 'md5', 'sha', 'sha256', 'sha512']),
    hash: z.string(),
    salt: z.string().optional(),
    saltPosition: z.enum(['prefix', 'suffix', 'disable']).optional(),
  }),
  z.strictObject({
    algorithm: z.literal('pbkdf2'),
    macFun: z.enum(['sha', 'sha224', 'sha256', 'sha384', 'sha512']),
    iterations: z.number().int(),
    dkLength: z.number().int().optional(),
    salt: z.string(),
    hash: z.string(),
  }),
  z.strictObject({ algorithm: z.literal('bcrypt'), hash: z.string() }),
  z.strictObject({
    algorithm: z.literal('go-auth-pbkdf2'),
    hash: z.string(),
    saltEncoding: z.enum(['base64', 'utf-8']),
  }),
]);

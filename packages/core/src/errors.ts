/**
 * Base class of every error mqtt-warden throws on purpose. `code` is stable and safe to match on;
 * `message` is for people and never contains a secret.
 *
 * @example
 * ```ts
 * export class PskFileError extends WardenError {
 *   constructor(line: number, message: string) {
 *     super('ERR_PSK_FILE', `line ${line}: ${message}`);
 *   }
 * }
 * ```
 */
export class WardenError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Invalid configuration given to a mqtt-warden factory (code `ERR_CONFIG_INVALID`). */
export class ConfigError extends WardenError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_CONFIG_INVALID', message, options);
  }
}

/** A backend needed for a decision (store, JWKS, introspection endpoint) could not answer (code `ERR_UNAVAILABLE`). */
export class UnavailableError extends WardenError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_UNAVAILABLE', message, options);
  }
}

/** Malformed input at a boundary: request, token, certificate, stored value (code `ERR_INVALID_INPUT`). */
export class InvalidInputError extends WardenError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_INVALID_INPUT', message, options);
  }
}

/**
 * The stable code of any thrown value, safe to log: the error's own string `code` (WardenError,
 * TopicError, Node's `ERR_*` and `E*` codes), `ERR_INTERNAL` otherwise. Never the message, which
 * a third-party error might have built from a secret.
 *
 * @example
 * ```ts
 * errorCode(new ConfigError('bad')); // 'ERR_CONFIG_INVALID'
 * errorCode(new Error(`password ${password} refused`)); // 'ERR_INTERNAL': the message is never used
 * ```
 */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code) ? code : 'ERR_INTERNAL';
}

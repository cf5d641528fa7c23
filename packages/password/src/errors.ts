import { WardenError } from '@mqtt-warden/core';

/**
 * A stored password hash is not in a format this package knows, or is malformed (code
 * `ERR_PASSWORD_FORMAT`). Thrown instead of answering `false`, so a broken credential file is noticed.
 * The message names the format and the field at fault; it never repeats the stored value or a password.
 */
export class PasswordFormatError extends WardenError {
  constructor(message: string) {
    super('ERR_PASSWORD_FORMAT', message);
  }
}

/** Why a new password was refused by {@link checkPasswordRules}. */
export interface PasswordRuleFailure {
  readonly rule: 'minLength' | 'maxLength' | 'classes' | 'denylist' | 'username';
  /** Readable advice; never contains the password. */
  readonly message: string;
}

/** A new password breaks the password rules (code `ERR_PASSWORD_RULE`); `failures` says which. */
export class PasswordRuleError extends WardenError {
  readonly failures: readonly PasswordRuleFailure[];

  constructor(failures: readonly PasswordRuleFailure[]) {
    super('ERR_PASSWORD_RULE', `password refused: ${failures.map((f) => f.message).join('; ')}`);
    this.failures = failures;
  }
}

/**
 * A credential file (users YAML/JSON or Mosquitto password_file) cannot be used (code
 * `ERR_CREDENTIAL_FILE`). The message says where (`file:line`) and what to fix; it never repeats a hash.
 */
export class CredentialFileError extends WardenError {
  readonly file: string | undefined;
  readonly line: number | undefined;

  constructor(message: string, where: { file?: string; line?: number } = {}, options?: { cause?: unknown }) {
    const prefix = [where.file, where.line].filter((p) => p !== undefined).join(':');
    super('ERR_CREDENTIAL_FILE', prefix ? `${prefix}: ${message}` : message, options);
    this.file = where.file;
    this.line = where.line;
  }
}

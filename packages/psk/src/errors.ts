import { WardenError } from '@mqtt-warden/core';

/** A PSK file (Mosquitto `psk_file` or EMQX PSK file) could not be read (code `ERR_PSK_FILE`). */
export class PskFileError extends WardenError {
  /** 1-based line of the offending entry. */
  readonly line: number;

  constructor(line: number, message: string) {
    super('ERR_PSK_FILE', `line ${line}: ${message}`);
    this.line = line;
  }
}

/** Stable codes of {@link SasTokenError}. */
export type SasTokenErrorCode =
  | 'ERR_SAS_TOKEN_MALFORMED'
  | 'ERR_SAS_TOKEN_EXPIRED'
  | 'ERR_SAS_TOKEN_SIGNATURE'
  | 'ERR_SAS_TOKEN_RESOURCE'
  | 'ERR_SAS_TOKEN_UNKNOWN_DEVICE';

/** A shared access signature token was refused; `code` says why. Messages never contain the token. */
export class SasTokenError extends WardenError {
  declare readonly code: SasTokenErrorCode;

  constructor(code: SasTokenErrorCode, message: string) {
    super(code, message);
  }
}

/**
 * The registry's PSK credentials do not fit the configured memory bound of {@link RegistryPskKeys}
 * (code `ERR_PSK_KEYS_FULL`): raise `maxBytes`, or revoke unused PSK credentials.
 */
export class PskKeysFullError extends WardenError {
  constructor(message: string) {
    super('ERR_PSK_KEYS_FULL', message);
  }
}

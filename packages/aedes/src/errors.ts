import { type DenyReason, WardenError } from '@mqtt-warden/core';
import { connackReturnCode } from './connack-return-code.js';

/**
 * A connection refused in `preConnect`, before any credential is looked at (code `ERR_CONNECT_REFUSED`).
 * Aedes closes the connection without a CONNACK and emits this error as `connectionError`.
 */
export class ConnectRefusedError extends WardenError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_CONNECT_REFUSED', message, options);
  }
}

/**
 * A CONNECT the guard refused (code `ERR_AUTHENTICATION_FAILED`). Carries the CONNACK `returnCode`
 * Aedes sends (4 bad credentials, 5 not authorized, 3 unavailable) and is emitted as `clientError`.
 */
export class AuthenticationFailedError extends WardenError {
  readonly reason: DenyReason;
  readonly returnCode: 3 | 4 | 5;

  constructor(reason: DenyReason, message: string) {
    super('ERR_AUTHENTICATION_FAILED', message);
    this.reason = reason;
    this.returnCode = connackReturnCode(reason);
  }
}

/**
 * A publish or subscription the guard refused (code `ERR_NOT_AUTHORIZED`). For a publish Aedes
 * closes the connection (MQTT 3.1.1 has no negative PUBACK) and emits this error as `clientError`.
 */
export class NotAuthorizedError extends WardenError {
  constructor(message: string) {
    super('ERR_NOT_AUTHORIZED', message);
  }
}

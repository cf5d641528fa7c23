import { WardenError } from '@mqtt-warden/core';

export type ConnectorErrorCode = 'ERR_CONNECTOR_REQUEST' | 'ERR_CONNECTOR_UNREACHABLE';

/**
 * A broker's management API did not do what a connector asked: it answered with an unexpected status
 * (`ERR_CONNECTOR_REQUEST`: check the URL and the API user's permissions) or could not be reached in time
 * (`ERR_CONNECTOR_UNREACHABLE`: check that the API listener runs). The message names the request, never a secret.
 *
 * @example
 * ```ts
 * try { await emqx.disconnect({ username: 'sensor-1', clientIds: ['sensor-1'] }); }
 * catch (error) { if (error instanceof ConnectorError) log.warn({ code: error.code }, error.message); }
 * ```
 */
export class ConnectorError extends WardenError {
  declare readonly code: ConnectorErrorCode;
  /** The HTTP status, when the API answered. */
  readonly status: number | undefined;

  constructor(code: ConnectorErrorCode, message: string, options?: { cause?: unknown; status?: number }) {
    super(code, message, options);
    this.status = options?.status;
  }
}

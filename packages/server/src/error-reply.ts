import { errorCode } from '@mqtt-warden/core';

/** The status and body the server answers a failed request with. */
export interface ErrorReply {
  readonly status: number;
  readonly body: { readonly error: string; readonly message: string };
}

/**
 * What the server answers for an error: its own status when it is a 4xx/5xx (else 500), a stable code,
 * and no detail for a 5xx. Fastify's error handler and the lean path both use it.
 *
 * @example
 * ```ts
 * errorReply(Object.assign(new Error('bad'), { statusCode: 400, code: 'FST_ERR_X' }));
 * // { status: 400, body: { error: 'FST_ERR_X', message: 'bad' } }
 * ```
 */
export function errorReply(error: Error & { statusCode?: number; code?: string }): ErrorReply {
  const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
  return {
    status,
    body: {
      error: error.code ?? errorCode(error),
      message: status >= 500 ? 'internal error' : error.message,
    },
  };
}

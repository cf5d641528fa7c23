import type { ConnectRequest } from '@mqtt-warden/core';
import type { JWTPayload } from 'jose';
import { TokenError } from './token-error.js';

/**
 * Ties a token to one connection: claim `claim` must equal the MQTT client id. (A claim that must equal
 * the username is a proven username: `usernameClaim` with `connectUsername: 'must-match'`.)
 */
export interface TokenBinding {
  /** e.g. `sub`, `clientid`, `client_id`. */
  readonly claim: string;
  readonly to: 'clientId';
}

/**
 * Throws {@link TokenError} `ERR_TOKEN_BINDING` unless `payload[binding.claim]` equals the request's
 * client id, so a token stolen from one device cannot be used under another client id.
 *
 * @example
 * ```ts
 * checkBinding(payload, request, { claim: 'clientid', to: 'clientId' });
 * ```
 */
export function checkBinding(payload: JWTPayload, request: ConnectRequest, binding: TokenBinding): void {
  const actual = payload[binding.claim];
  if (typeof actual !== 'string' || actual !== request.clientId) {
    throw new TokenError(
      'ERR_TOKEN_BINDING',
      `the token's "${binding.claim}" claim does not match the MQTT client id`,
    );
  }
}

import type { ConnectRequest } from '@mqtt-warden/core';
import type { JWTPayload } from 'jose';
import { TokenError } from './token-error.js';

/** Ties a token to one connection identity: claim `claim` must equal the MQTT client id or username. */
export interface TokenBinding {
  /** e.g. `sub`, `clientid`, `client_id`. */
  readonly claim: string;
  readonly to: 'clientId' | 'username';
}

/**
 * Throws {@link TokenError} `ERR_TOKEN_BINDING` unless `payload[binding.claim]` equals the bound field
 * of the request, so a token stolen from one device cannot be used under another client id.
 *
 * @example
 * ```ts
 * checkBinding(payload, request, { claim: 'clientid', to: 'clientId' });
 * ```
 */
export function checkBinding(payload: JWTPayload, request: ConnectRequest, binding: TokenBinding): void {
  const expected = binding.to === 'clientId' ? request.clientId : request.username;
  const actual = payload[binding.claim];
  if (typeof actual !== 'string' || expected === undefined || actual !== expected) {
    throw new TokenError(
      'ERR_TOKEN_BINDING',
      `the token's "${binding.claim}" claim does not match the MQTT ${binding.to === 'clientId' ? 'client id' : 'username'}`,
    );
  }
}

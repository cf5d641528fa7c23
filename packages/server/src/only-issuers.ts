import type { Authenticator, ConnectRequest } from '@mqtt-warden/core';
import { looksLikeJwt, type TokenField, tokenFromRequest } from '@mqtt-warden/jwt';
import { unverifiedIssuer } from './unverified-issuer.js';

/**
 * Wraps a token authenticator so that it ignores JWTs issued by someone else (by their unverified
 * `iss`), leaving them to the next authenticator: several JWT verifiers (an identity provider, an OAuth
 * server, the device token issuer) can then share one chain. A token naming one of `issuers` is verified
 * in full; ignoring never allows anything, as the chain ends in a denial when no one accepts.
 */
export function onlyIssuers(
  authenticator: Authenticator,
  issuers: readonly string[],
  from: TokenField = 'password',
): Authenticator {
  return {
    name: authenticator.name,
    // Ignoring proves nothing and allows nothing: the wrapped authenticator's guarantee stands.
    provesUsername: authenticator.provesUsername,
    authenticate(request: ConnectRequest) {
      const token = tokenFromRequest(request, from);
      if (token !== undefined && looksLikeJwt(token)) {
        const iss = unverifiedIssuer(token);
        if (typeof iss !== 'string' || !issuers.includes(iss)) return { outcome: 'ignore' };
      }
      return authenticator.authenticate(request);
    },
  };
}

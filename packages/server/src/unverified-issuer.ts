import type { Authenticator, ConnectRequest } from '@mqtt-warden/core';
import { looksLikeJwt, type TokenField, tokenFromRequest } from '@mqtt-warden/jwt';

/**
 * The `iss` claim of a JWT before verification: only to decide which verifier a token belongs to,
 * never to trust it. Undefined when the token's payload is not a JSON object.
 */
export function unverifiedIssuer(token: string): unknown {
  try {
    const payload: unknown = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    return typeof payload === 'object' && payload !== null ? (payload as { iss?: unknown }).iss : undefined;
  } catch {
    return undefined;
  }
}

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

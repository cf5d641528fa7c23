import { type Authenticator, type AuthOutcome, applyConnectUsername } from '@mqtt-warden/core';
import {
  checkBinding,
  claimsToPrincipal,
  createJwtVerifier,
  type DeviceTokenIssuer,
  denyFor,
  looksLikeJwt,
  tokenFromRequest,
} from '@mqtt-warden/jwt';
import type { TokenSubject } from './token-subject-check.js';
import { unverifiedIssuer } from './unverified-issuer.js';

/** Options of {@link createDeviceTokenAuthenticator}: the issuer and the claims it signs with. */
export interface DeviceTokenAuthenticatorOptions {
  readonly issuer: DeviceTokenIssuer;
  /** The issuer's `iss`. */
  readonly iss: string;
  readonly audience: string;
  readonly algorithm: string;
  /**
   * Checked on every connect after the signature: whether the token's subject still exists and is
   * enabled (see {@link tokenSubjectCheck}). `false` refuses the token before it expires.
   */
  readonly subjectActive?: (subject: TokenSubject) => boolean | Promise<boolean>;
}

/**
 * The verifier of the server's own device tokens (name and principal method `device-token`), checked
 * against the issuer's in-memory JWKS. It claims only passwords that are JWTs naming the issuer in
 * `iss` and ignores every other credential, so other `jwt`/`oauth` authenticators in the chain keep
 * their tokens. A token is accepted only for the client id (`clientid` claim) and username it was
 * issued to: its `username` claim is the username the server proved when it issued the token, so the
 * principal's username is proven and the CONNECT username must equal it (`provesUsername`). The
 * token's `acl` claim is ignored; its roles come from `roles`.
 *
 * @example
 * ```ts
 * const tokens = createDeviceTokenAuthenticator({ issuer, iss: 'mqtt-warden', audience: 'mqtt', algorithm: 'ES256' });
 * const guard = createGuard({ authenticators: [tokens, passwords], authorizer: policy });
 * ```
 */
export function createDeviceTokenAuthenticator(options: DeviceTokenAuthenticatorOptions): Authenticator {
  const verifier = createJwtVerifier({
    keys: { jwks: () => options.issuer.jwks() },
    algorithms: [options.algorithm],
    issuer: options.iss,
    audience: options.audience,
    requiredClaims: ['clientid'],
  });
  return {
    name: 'device-token',
    provesUsername: true,
    async authenticate(request): Promise<AuthOutcome> {
      const token = tokenFromRequest(request, 'password');
      if (token === undefined || !looksLikeJwt(token) || unverifiedIssuer(token) !== options.iss) {
        return { outcome: 'ignore' };
      }
      try {
        const { payload } = await verifier.verify(token);
        checkBinding(payload, request, { claim: 'clientid', to: 'clientId' });
        const { username } = payload;
        const principal = claimsToPrincipal(payload, request, 'device-token', { aclClaim: false });
        const outcome = applyConnectUsername(
          typeof username === 'string' ? { ...principal, username } : principal,
          request,
          'must-match',
        );
        if (outcome.outcome !== 'allow') return outcome;
        if (options.subjectActive && !(await options.subjectActive(payload))) {
          return {
            outcome: 'deny',
            reason: 'not-authorized',
            message: 'the device token was issued to a user who is now disabled or removed',
          };
        }
        return outcome;
      } catch (error) {
        return denyFor(error);
      }
    },
  };
}

import {
  type Authenticator,
  type AuthOutcome,
  type ConnectUsernameMode,
  type GuardLogger,
  UnavailableError,
} from '@mqtt-warden/core';
import { AclClaimCache } from './acl-claim-cache.js';
import { type ClaimMapping, claimsToPrincipal } from './claims-to-principal.js';
import { createJwtVerifier, type JwtVerifierOptions } from './jwt-verifier.js';
import { looksLikeJwt } from './looks-like-jwt.js';
import { checkBinding, type TokenBinding } from './token-binding.js';
import { TokenError } from './token-error.js';
import { type TokenField, tokenFromRequest } from './token-from-request.js';
import { tokenUsername } from './token-username.js';

/** Options of {@link createJwtAuthenticator}. */
export interface JwtAuthenticatorOptions extends JwtVerifierOptions, ClaimMapping {
  /** Authenticator name, also the principal's `method`. Default `jwt`. */
  readonly name?: string;
  /** CONNECT field carrying the token. Default `password`. */
  readonly from?: TokenField;
  /** Optional binding of a claim to the client id. */
  readonly bind?: TokenBinding;
  /** Warned when a token's ACL claim has an allow that cannot be expressed and is left out. */
  readonly logger?: Pick<GuardLogger, 'warn'>;
  /**
   * With `usernameClaim`: `must-match` (default) refuses a CONNECT username other than the claim's;
   * `claimed` accepts any and keeps it in `claimedUsername`. See {@link ConnectUsernameMode}.
   */
  readonly connectUsername?: ConnectUsernameMode;
  /**
   * Bytes of memory for translated ACL claims, remembered by the claim's exact JSON text (see
   * `AclClaimCache`). Default 1 MiB; 0 translates every claim anew.
   */
  readonly aclCacheBytes?: number;
}

/**
 * An authenticator for JWTs presented in the MQTT password (or username). Credentials that are not
 * shaped like a JWT are ignored (left to the next authenticator); a JWT that fails any check is
 * denied with a clear reason; a JWKS that cannot be fetched with no cached keys denies `unavailable`.
 * The principal's username comes only from `usernameClaim`, never from the CONNECT packet.
 *
 * @example
 * ```ts
 * const jwt = createJwtAuthenticator({
 *   keys: { jwksUrl: 'https://idp.example.com/.well-known/jwks.json' },
 *   issuer: 'https://idp.example.com/', audience: 'mqtt',
 *   usernameClaim: 'preferred_username', // the CONNECT username must equal it
 *   bind: { claim: 'sub', to: 'clientId' },
 * });
 * const guard = createGuard({ authenticators: [jwt], authorizer: policy });
 * ```
 */
export function createJwtAuthenticator(options: JwtAuthenticatorOptions): Authenticator {
  const name = options.name ?? 'jwt';
  const from = options.from ?? 'password';
  const verifier = createJwtVerifier(options);
  const aclCache = new AclClaimCache({ maxBytes: options.aclCacheBytes });
  const parseAcl = aclCache.parse.bind(aclCache);
  const username = tokenUsername(
    { from, connectUsername: options.connectUsername, hasUsernameClaim: options.usernameClaim !== undefined },
    'usernameClaim',
  );
  return {
    name,
    provesUsername: username.provesUsername,
    async authenticate(request): Promise<AuthOutcome> {
      const token = tokenFromRequest(request, from);
      if (token === undefined || !looksLikeJwt(token)) return { outcome: 'ignore' };
      try {
        const { payload } = await verifier.verify(token);
        if (options.bind) checkBinding(payload, request, options.bind);
        const { logger } = options;
        const mapping = logger
          ? {
              ...options,
              onAclRuleDropped: (message: string) =>
                logger.warn({ clientId: request.clientId, sub: payload.sub }, message),
            }
          : options;
        return username.settle(claimsToPrincipal(payload, request, name, mapping, parseAcl), request);
      } catch (error) {
        return denyFor(error);
      }
    },
  };
}

/**
 * The deny outcome for a verification error: {@link TokenError} → its reason, UnavailableError →
 * `unavailable`. Anything else is rethrown (the guard denies it as `error`).
 *
 * @example
 * ```ts
 * try {
 *   return { outcome: 'allow', principal: toPrincipal((await verifier.verify(token)).payload) };
 * } catch (error) {
 *   return denyFor(error);
 * }
 * ```
 */
export function denyFor(error: unknown): AuthOutcome {
  if (error instanceof TokenError)
    return { outcome: 'deny', reason: error.denyReason, message: error.message };
  if (error instanceof UnavailableError)
    return { outcome: 'deny', reason: 'unavailable', message: error.message };
  throw error;
}

import type {
  Authenticator,
  AuthOutcome,
  ConnectRequest,
  ConnectUsernameMode,
  Principal,
} from '@mqtt-warden/core';
import {
  AclClaimCache,
  type ClaimMapping,
  checkBinding,
  claimsToPrincipal,
  denyFor,
  type JwtVerifier,
  looksLikeJwt,
  type TokenBinding,
  TokenError,
  type TokenField,
  tokenFromRequest,
  tokenUsername,
  type VerifiedJwt,
} from '@mqtt-warden/jwt';
import type { IntrospectionClient } from './introspection-client.js';
import { type ScopeMapping, scopeGrants } from './scope-grants.js';

type Payload = VerifiedJwt['payload'];

/** Options of {@link createOAuthAuthenticator}. Give `jwt`, `introspection` or both. */
export interface OAuthAuthenticatorOptions {
  /** Authenticator name, also the principal's `method`. Default `oauth`. */
  readonly name?: string;
  /** CONNECT field carrying the access token. Default `password`. */
  readonly from?: TokenField;
  /** Verifies JWT-shaped tokens locally (see createJwtAccessTokenVerifier). */
  readonly jwt?: JwtVerifier;
  /** Asks the authorization server about other tokens (or all tokens, without `jwt`). */
  readonly introspection?: IntrospectionClient;
  /** Scopes → roles and topic rules. */
  readonly scopes?: ScopeMapping;
  /**
   * Claims → username, roles, groups, superuser. The ACL claim is off unless `aclClaim` is set. For
   * introspection answers, `usernameClaim: 'username'` proves RFC 7662's `username`.
   */
  readonly claims?: ClaimMapping;
  /** Optional binding of a claim (e.g. `client_id`) to the MQTT client id. */
  readonly bind?: TokenBinding;
  /**
   * With `claims.usernameClaim`: `must-match` (default) refuses a CONNECT username other than the
   * claim's; `claimed` accepts any and keeps it in `claimedUsername`. See {@link ConnectUsernameMode}.
   */
  readonly connectUsername?: ConnectUsernameMode;
  /**
   * With introspection, the `aud` the answer must contain; an answer without `aud` is then refused
   * (configure the authorization server to report it). RFC 9068 JWTs are always audience-checked by
   * their verifier.
   */
  readonly audience?: string;
  /**
   * Bytes of memory for translated ACL claims (with `claims.aclClaim`), remembered by the claim's exact
   * JSON text (see `AclClaimCache`). Default 1 MiB; 0 translates every claim anew.
   */
  readonly aclCacheBytes?: number;
}

/**
 * An authenticator for OAuth 2.0 access tokens presented as the MQTT password: JWT access tokens
 * (RFC 9068) are verified locally, opaque ones through RFC 7662 introspection. The principal's id is
 * `sub` (falling back to `username`, then `client_id`), `attributes.scope` lists the scopes, and the
 * scopes become roles and topic rules (see {@link scopeGrants}). The username comes only from
 * `claims.usernameClaim`, never from the CONNECT packet. Absent credentials are ignored; an
 * invalid or inactive token is denied; an unreachable or slow introspection endpoint denies
 * `unavailable` (fail closed). Place it after authenticators that recognise their own credentials:
 * with introspection, any password is a candidate token.
 *
 * @example
 * ```ts
 * const oauth = createOAuthAuthenticator({
 *   introspection: createIntrospectionClient({ endpoint, clientId: 'broker', clientSecret }),
 *   scopes: { roles: { 'fleet:admin': 'fleet-admin' } },
 * });
 * ```
 */
export function createOAuthAuthenticator(options: OAuthAuthenticatorOptions): Authenticator {
  const name = options.name ?? 'oauth';
  const from = options.from ?? 'password';
  const { jwt, introspection } = options;
  const claims: ClaimMapping = { aclClaim: false, ...options.claims };
  const aclCache = new AclClaimCache({ maxBytes: options.aclCacheBytes });
  const parseAcl = aclCache.parse.bind(aclCache);
  const username = tokenUsername(
    { from, connectUsername: options.connectUsername, hasUsernameClaim: claims.usernameClaim !== undefined },
    'claims.usernameClaim',
  );

  async function payloadFor(token: string): Promise<Payload | undefined> {
    if (jwt && looksLikeJwt(token)) return (await jwt.verify(token)).payload;
    if (!introspection) return undefined;
    const answer = await introspection.introspect(token);
    if (!answer.active)
      throw new TokenError('ERR_TOKEN_INACTIVE', 'the authorization server says the token is not active');
    if (options.audience !== undefined) {
      // An answer without `aud` could be a token for any resource server of the authorization server.
      if (answer.aud === undefined) {
        throw new TokenError(
          'ERR_TOKEN_CLAIM',
          'the introspection answer names no audience ("aud"), and an audience is configured',
        );
      }
      const audiences = typeof answer.aud === 'string' ? [answer.aud] : answer.aud;
      if (!audiences.includes(options.audience)) {
        throw new TokenError('ERR_TOKEN_CLAIM', 'the token was issued for another audience ("aud")');
      }
    }
    const { active: _active, ...rest } = answer;
    const sub = answer.sub ?? answer.username ?? answer.client_id;
    if (!sub)
      throw new TokenError(
        'ERR_TOKEN_CLAIM',
        'the introspection answer names no subject, username or client_id',
      );
    return { ...rest, sub } as Payload;
  }

  function principalFor(payload: Payload, request: ConnectRequest): Principal {
    const base = claimsToPrincipal(payload, request, name, claims, parseAcl);
    const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [];
    const grants = scopeGrants(scopes, options.scopes);
    const rules = [...(base.rules ?? []), ...grants.rules];
    return {
      ...base,
      roles: [...new Set([...base.roles, ...grants.roles])],
      attributes: { ...base.attributes, scope: scopes },
      ...(rules.length > 0 ? { rules } : {}),
    };
  }

  return {
    name,
    provesUsername: username.provesUsername,
    async authenticate(request): Promise<AuthOutcome> {
      const token = tokenFromRequest(request, from);
      if (token === undefined) return { outcome: 'ignore' };
      try {
        const payload = await payloadFor(token);
        if (!payload) return { outcome: 'ignore' };
        if (options.bind) checkBinding(payload, request, options.bind);
        return username.settle(principalFor(payload, request), request);
      } catch (error) {
        return denyFor(error);
      }
    },
  };
}

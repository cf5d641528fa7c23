import { createJwtVerifier, type JwtVerifier, type KeySource } from '@mqtt-warden/jwt';

/** Options of {@link createJwtAccessTokenVerifier}. */
export interface JwtAccessTokenOptions {
  /** The authorization server's keys, usually `{ jwksUrl: '<issuer>/jwks' }` (its metadata's `jwks_uri`). */
  readonly keys: KeySource;
  /** The authorization server's issuer identifier. */
  readonly issuer: string;
  /** This resource server's identifier (the RFC 8707 `resource` clients ask tokens for). */
  readonly audience: string;
  /** Allowlist; defaults to every asymmetric algorithm the key source supports (RS256 included). */
  readonly algorithms?: readonly string[];
  /** Default 5 s. */
  readonly clockToleranceSeconds?: number;
  readonly now?: () => number;
}

/** Claims RFC 9068 §2.2 makes mandatory. */
const REQUIRED = ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'];

/**
 * A verifier for RFC 9068 JWT access tokens: `typ` must be `at+jwt` (or `application/at+jwt`), the
 * audience must be this resource, the issuer must match, and all RFC 9068 required claims must be present.
 *
 * @example
 * ```ts
 * const verifier = createJwtAccessTokenVerifier({
 *   keys: { jwksUrl: 'https://idp.example.com/jwks' }, issuer: 'https://idp.example.com', audience: 'urn:mqtt',
 * });
 * ```
 */
export function createJwtAccessTokenVerifier(options: JwtAccessTokenOptions): JwtVerifier {
  return createJwtVerifier({ ...options, typ: 'at+jwt', requiredClaims: REQUIRED });
}

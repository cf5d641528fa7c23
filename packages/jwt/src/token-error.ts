import type { DenyReason } from '@mqtt-warden/core';
import { WardenError } from '@mqtt-warden/core';

/** Stable codes of {@link TokenError}. */
export type TokenErrorCode =
  /** Not a JWT, bad JSON, bad base64url, or a header jose cannot process. */
  | 'ERR_TOKEN_MALFORMED'
  /** The `alg` is not in the allowlist (includes `none`, and HMAC with an asymmetric key). */
  | 'ERR_TOKEN_ALGORITHM'
  /** No configured key (or no JWKS key with this `kid`) can verify the token. */
  | 'ERR_TOKEN_KEY'
  | 'ERR_TOKEN_SIGNATURE'
  | 'ERR_TOKEN_EXPIRED'
  | 'ERR_TOKEN_NOT_YET_VALID'
  /** A claim or header check failed: `iss`, `aud`, `typ`, a required claim. */
  | 'ERR_TOKEN_CLAIM'
  /** The token is valid but bound to another client id or username. */
  | 'ERR_TOKEN_BINDING'
  /** The ACL claim (or an OAuth scope) cannot be translated exactly into rules. */
  | 'ERR_TOKEN_ACL'
  /** An introspection endpoint says the token is not active. */
  | 'ERR_TOKEN_INACTIVE';

const DENY_REASONS: Readonly<Record<TokenErrorCode, DenyReason>> = {
  ERR_TOKEN_MALFORMED: 'bad-credentials',
  ERR_TOKEN_ALGORITHM: 'bad-credentials',
  ERR_TOKEN_KEY: 'bad-credentials',
  ERR_TOKEN_SIGNATURE: 'bad-credentials',
  ERR_TOKEN_EXPIRED: 'expired',
  ERR_TOKEN_NOT_YET_VALID: 'bad-credentials',
  ERR_TOKEN_CLAIM: 'bad-credentials',
  ERR_TOKEN_BINDING: 'not-authorized',
  ERR_TOKEN_ACL: 'bad-credentials',
  ERR_TOKEN_INACTIVE: 'bad-credentials',
};

/**
 * A token was refused. `code` says why in a stable form; `message` is for people and never
 * contains the token or a key.
 *
 * @example
 * ```ts
 * try { await verifier.verify(token); } catch (e) { if (e instanceof TokenError && e.code === 'ERR_TOKEN_EXPIRED') … }
 * ```
 */
export class TokenError extends WardenError {
  declare readonly code: TokenErrorCode;

  constructor(code: TokenErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }

  /** The connect deny reason this refusal maps to. */
  get denyReason(): DenyReason {
    return DENY_REASONS[this.code];
  }
}

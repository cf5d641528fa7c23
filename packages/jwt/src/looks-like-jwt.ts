// Header and payload are never empty; the signature is empty for `alg: none`, which must still be
// recognised as a JWT so that it is denied rather than passed down the chain.
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Whether `value` has the shape of a compact JWS (three base64url segments). Says nothing about validity.
 *
 * @example
 * ```ts
 * looksLikeJwt('eyJhbGciOiJFUzI1NiJ9.e30.c2ln'); // true
 * looksLikeJwt('hunter2'); // false
 * ```
 */
export function looksLikeJwt(value: string): boolean {
  return JWS_COMPACT.test(value);
}

import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * A comparison with a secret that takes the same time whatever is presented: both sides are hashed
 * (SHA-256) first, so neither the secret's length nor a matching prefix shows in the timing.
 *
 * @example
 * ```ts
 * const matches = secretMatcher(await config.sharedSecret.value.reveal());
 * matches(request.headers['x-mqtt-warden-secret']); // false for a missing, repeated or wrong header
 * ```
 */
export function secretMatcher(
  secret: string,
): (presented: string | readonly string[] | undefined) => boolean {
  const expected = digest(secret);
  return (presented) => typeof presented === 'string' && timingSafeEqual(digest(presented), expected);
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

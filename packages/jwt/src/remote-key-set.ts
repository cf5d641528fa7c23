import { UnavailableError } from '@mqtt-warden/core';
import {
  type CryptoKey,
  createLocalJWKSet,
  createRemoteJWKSet,
  type ExportedJWKSCache,
  errors,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWKSCacheInput,
  type JWSHeaderParameters,
  jwksCache,
} from 'jose';

/** Options of {@link createRemoteKeySet}. */
export interface RemoteKeySetOptions {
  /** Abort a JWKS fetch after this long. Default 5,000 ms. */
  readonly timeoutMs?: number;
  /** After a fetch, an unknown `kid` triggers no new fetch for this long; also the pause after a failed fetch. Default 30,000 ms. */
  readonly cooldownMs?: number;
  /** Refetch the key set once it is this old. Default 600,000 ms. */
  readonly cacheMaxAgeMs?: number;
  /** Extra request headers (e.g. an API key for a private JWKS endpoint). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A jose key resolver over a JWKS URL. */
export type KeyResolver = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

/**
 * jose's `createRemoteJWKSet`, plus: when the endpoint fails, the last key set that was fetched
 * successfully keeps being used (and the endpoint is left alone for the cooldown), so an outage of the
 * identity provider does not lock out every device. With no key set ever fetched, verification fails
 * with an {@link UnavailableError} (fail closed).
 *
 * @example
 * ```ts
 * const keys = createRemoteKeySet(new URL('https://idp.example.com/jwks'), { cooldownMs: 10_000 });
 * await jwtVerify(token, keys, { algorithms: ['RS256'] });
 * ```
 */
export function createRemoteKeySet(url: URL, options: RemoteKeySetOptions = {}): KeyResolver {
  const cooldownMs = options.cooldownMs ?? 30_000;
  // jose writes every successfully fetched set here; it is our "last good" copy.
  const cache: JWKSCacheInput = {};
  const remote = createRemoteJWKSet(url, {
    timeoutDuration: options.timeoutMs ?? 5_000,
    cooldownDuration: cooldownMs,
    cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
    headers: options.headers ? { ...options.headers } : undefined,
    [jwksCache]: cache,
  });
  let failedAt = Number.NEGATIVE_INFINITY;
  let fallback: { jwks: JSONWebKeySet; resolve: ReturnType<typeof createLocalJWKSet> } | undefined;

  function lastGood() {
    const { jwks } = cache as Partial<ExportedJWKSCache>;
    if (!jwks) return undefined;
    if (fallback?.jwks !== jwks) fallback = { jwks, resolve: createLocalJWKSet(jwks) };
    return fallback.resolve;
  }

  return async (header, token) => {
    if (Date.now() - failedAt < cooldownMs) {
      const resolve = lastGood();
      if (resolve) return resolve(header, token);
    }
    try {
      return await remote(header, token);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
        throw error;
      }
      failedAt = Date.now();
      const resolve = lastGood();
      if (resolve) return resolve(header, token);
      throw new UnavailableError(
        `the JWKS endpoint ${url.origin}${url.pathname} could not be fetched and no key set is cached: ${
          error instanceof Error ? error.message : 'unknown error'
        }`,
        { cause: error },
      );
    }
  };
}

import { createHash } from 'node:crypto';
import { UnavailableError } from '@mqtt-warden/core';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import type { ClientAuthMethod } from './client-authentication.js';
import { formEndpoint } from './form-endpoint.js';

/** Options of {@link createIntrospectionClient}. */
export interface IntrospectionOptions {
  /** The authorization server's RFC 7662 endpoint. */
  readonly endpoint: string | URL;
  /** This resource server's own client credentials at the authorization server. */
  readonly clientId: string;
  readonly clientSecret: string;
  /** Default `client_secret_basic`. */
  readonly clientAuth?: ClientAuthMethod;
  /** Give up (and deny `unavailable`) after this long. Default 2,000 ms. */
  readonly timeoutMs?: number;
  /** Cache an active answer this long at most (never past the token's `exp`). Default 60,000 ms; 0 disables. */
  readonly cacheTtlMs?: number;
  /** Cache an inactive answer this long. Default 5,000 ms; 0 disables. */
  readonly negativeCacheTtlMs?: number;
  /** Cache entries. Default 10,000. */
  readonly cacheMax?: number;
  /** Clock in ms, for `exp`; tests inject one. */
  readonly now?: () => number;
}

/** An RFC 7662 response (extension members pass through). */
export type IntrospectionResponse = z.infer<typeof responseSchema>;

export interface IntrospectionClient {
  /**
   * The endpoint's answer for `token`, from the cache when possible. An active answer whose `exp`
   * has passed is reported inactive. Throws UnavailableError when the endpoint is unreachable, slow,
   * refuses our credentials or answers nonsense: the caller must fail closed.
   */
  introspect(token: string): Promise<IntrospectionResponse>;
}

const numericDate = z.number();
const responseSchema = z
  .object({
    active: z.boolean(),
    scope: z.string().optional(),
    client_id: z.string().optional(),
    username: z.string().optional(),
    token_type: z.string().optional(),
    exp: numericDate.optional(),
    iat: numericDate.optional(),
    nbf: numericDate.optional(),
    sub: z.string().optional(),
    aud: z.union([z.string(), z.array(z.string())]).optional(),
    iss: z.string().optional(),
    jti: z.string().optional(),
  })
  .loose();

const INACTIVE: IntrospectionResponse = { active: false };

/**
 * RFC 7662 token introspection with a cache: active answers are kept until the earlier of the
 * token's `exp` and `cacheTtlMs`, inactive ones for `negativeCacheTtlMs`, concurrent lookups of one
 * token share one request, and tokens are cached by SHA-256 digest only.
 *
 * @example
 * ```ts
 * const introspection = createIntrospectionClient({
 *   endpoint: 'https://idp.example.com/token/introspection', clientId: 'mqtt-broker', clientSecret,
 * });
 * const answer = await introspection.introspect(token); // { active: true, scope: '…', exp: … }
 * ```
 */
export function createIntrospectionClient(options: IntrospectionOptions): IntrospectionClient {
  const post = formEndpoint(options.endpoint, 'introspection endpoint', {
    ...options,
    timeoutMs: options.timeoutMs ?? 2_000,
  });
  const now = options.now ?? Date.now;
  const ttlMs = options.cacheTtlMs ?? 60_000;
  const negativeTtlMs = options.negativeCacheTtlMs ?? 5_000;
  const cache = new LRUCache<string, IntrospectionResponse>({ max: options.cacheMax ?? 10_000 });
  const pending = new Map<string, Promise<IntrospectionResponse>>();

  async function ask(token: string): Promise<IntrospectionResponse> {
    const response = await post({ token, token_type_hint: 'access_token' });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new UnavailableError(
        response.status === 401 || response.status === 403
          ? `the introspection endpoint rejected this resource server's client credentials (HTTP ${response.status}); check clientId, clientSecret and clientAuth`
          : `the introspection endpoint answered HTTP ${response.status}`,
      );
    }
    let parsed: ReturnType<typeof responseSchema.safeParse>;
    try {
      parsed = responseSchema.safeParse(await response.json());
    } catch (cause) {
      throw new UnavailableError('the introspection endpoint answered with invalid JSON', { cause });
    }
    if (!parsed.success) {
      throw new UnavailableError('the introspection response is not RFC 7662 (no boolean "active")');
    }
    return parsed.data;
  }

  function store(key: string, answer: IntrospectionResponse) {
    if (!answer.active) {
      if (negativeTtlMs > 0) cache.set(key, INACTIVE, { ttl: negativeTtlMs });
      return;
    }
    const untilExp = answer.exp === undefined ? ttlMs : answer.exp * 1000 - now();
    const ttl = Math.min(ttlMs, untilExp);
    if (ttl > 0) cache.set(key, answer, { ttl });
  }

  return {
    async introspect(token) {
      const key = createHash('sha256').update(token).digest('base64url');
      let answer = cache.get(key);
      if (answer === undefined) {
        let inflight = pending.get(key);
        if (!inflight) {
          inflight = ask(token).finally(() => pending.delete(key));
          pending.set(key, inflight);
          answer = await inflight;
          store(key, answer);
        } else {
          answer = await inflight;
        }
      }
      if (answer.active && answer.exp !== undefined && answer.exp * 1000 <= now()) return INACTIVE;
      return answer;
    },
  };
}

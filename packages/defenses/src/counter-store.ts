import { ConfigError, UnavailableError } from '@mqtt-warden/core';
import type { Redis } from 'ioredis';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  type RateLimiterRes,
} from 'rate-limiter-flexible';
import { BoundedKeys } from './bounded-keys.js';
import type { DefensesConfig } from './defenses-config.js';
import { redisSharedState, type SharedState } from './shared-state.js';

/** One named family of counts per key, each kept for a window of `seconds` from its first count. */
export interface Counter {
  /** Adds `points`; resolves to the count in the current window and the ms left in it. */
  add(key: string, points?: number): Promise<{ readonly count: number; readonly msLeft: number }>;
  /** The count and ms left, or undefined when the key has none. */
  get(key: string): Promise<{ readonly count: number; readonly msLeft: number } | undefined>;
  /** Sets a key's count for `seconds`. */
  set(key: string, count: number, seconds: number): Promise<void>;
  delete(key: string): Promise<boolean>;
  /** Every key with a count (for `lockout list`); `limit` entries at most. */
  list(limit: number): Promise<{ readonly key: string; readonly count: number; readonly msLeft: number }[]>;
}

/** Where the defenses keep their counters: this process's memory, or a Redis shared by replicas. */
export interface CounterStore {
  counter(name: string, seconds: number): Counter;
  /** With Redis: the state replicas share besides counters (request buckets, verification budget). */
  readonly shared?: { readonly state: SharedState; readonly keyPrefix: string };
  close(): Promise<void>;
}

/** The Redis options that make a down Redis an immediate error instead of a queue that grows. */
function redisOptions(timeoutMs: number) {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(timeoutMs, 1000),
    // Reconnect forever, at most every 2 s: the store comes back by itself.
    retryStrategy: (times: number) => Math.min(times * 100, 2000),
  };
}

/**
 * Opens the configured store. With Redis, a store error rejects with {@link UnavailableError}
 * (`ERR_UNAVAILABLE`) unless `onStoreError: open`, which answers from counters in this process's memory
 * (rate-limiter-flexible's insurance limiter) until Redis is back.
 *
 * @example
 * ```ts
 * const store = await openCounterStore(parseDefensesConfig({ store: { redis: { url: 'redis://127.0.0.1:6379' } } }));
 * const failures = store.counter('fail', 86_400);
 * await failures.add('user:alice');
 * ```
 */
export async function openCounterStore(
  config: Pick<DefensesConfig, 'store' | 'onStoreError'>,
  options: {
    onError?: (error: Error) => void;
    /** Keys each memory counter keeps at most (least recently counted forgotten first); default 100,000. */
    memoryMaxKeys?: number;
  } = {},
): Promise<CounterStore> {
  const store = config.store;
  if (store === 'memory') {
    return {
      counter: (name, seconds) => memoryCounter(name, seconds, options.memoryMaxKeys ?? 100_000),
      close: async () => {},
    };
  }
  const { Redis: RedisClient } = await import('ioredis');
  let redis: Redis;
  try {
    redis = new RedisClient(store.redis.url, redisOptions(store.redis.timeoutMs));
  } catch {
    // ioredis's TypeError carries the whole URL (`input`), password included.
    throw new ConfigError(
      'defenses.store.redis.url is not a Redis URL; write redis://[USER:PASSWORD@]HOST:PORT/DB (rediss:// for TLS)',
    );
  }
  // Without a listener an 'error' event would crash the process; the limiters see the failures.
  redis.on('error', (error: Error) => options.onError?.(error));
  // Give the first connection a moment; a Redis still down after it is answered per onStoreError.
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, Math.max(store.redis.timeoutMs, 1000));
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  const prefix = store.redis.keyPrefix;
  const open = config.onStoreError === 'open';
  return {
    shared: { state: redisSharedState(redis), keyPrefix: prefix },
    counter(name, seconds) {
      const keyPrefix = `${prefix}:${name}`;
      const limiter = new RateLimiterRedis({
        storeClient: redis,
        keyPrefix,
        points: Number.MAX_SAFE_INTEGER,
        duration: seconds,
        rejectIfRedisNotReady: true,
        insuranceLimiter: open
          ? new RateLimiterMemory({ keyPrefix, points: Number.MAX_SAFE_INTEGER, duration: seconds })
          : undefined,
      });
      return {
        ...wrap(limiter),
        async list(limit) {
          const entries: { key: string; count: number; msLeft: number }[] = [];
          let cursor = '0';
          do {
            const [next, keys] = await storeCall(() =>
              redis.scan(cursor, 'MATCH', `${escapeGlob(keyPrefix)}:*`, 'COUNT', 500),
            );
            cursor = next;
            for (const stored of keys) {
              if (entries.length >= limit) return entries;
              const key = stored.slice(keyPrefix.length + 1);
              const found = await limiter.get(key).catch(storeError);
              if (found) entries.push({ key, ...res(found) });
            }
          } while (cursor !== '0');
          return entries;
        },
      };
    },
    async close() {
      redis.disconnect();
    },
  };
}

function memoryCounter(name: string, seconds: number, maxKeys: number): Counter {
  const limiter = new RateLimiterMemory({
    keyPrefix: name,
    points: Number.MAX_SAFE_INTEGER,
    duration: seconds,
  });
  // rate-limiter-flexible's memory store has no size bound: this bounded set of its keys gives it one.
  const keys = new BoundedKeys(maxKeys, (key) => void limiter.delete(key));
  const counter = wrap(limiter);
  return {
    ...counter,
    add(key, points) {
      keys.touch(key);
      return counter.add(key, points);
    },
    set(key, count, secs) {
      keys.touch(key);
      return counter.set(key, count, secs);
    },
    delete(key) {
      keys.delete(key);
      return counter.delete(key);
    },
    async list(limit) {
      const now = Date.now();
      return limiter
        .dump()
        .storage.filter((r) => r.expiresAt === null || r.expiresAt > now)
        .slice(0, limit)
        .map((r) => ({
          // dump() gives keys without the prefix.
          key: String(r.key),
          count: r.value,
          msLeft: r.expiresAt === null ? -1 : r.expiresAt - now,
        }));
    },
  };
}

function wrap(limiter: RateLimiterAbstract): Omit<Counter, 'list'> {
  return {
    async add(key, points = 1) {
      // penalty() adds without ever rejecting for being over a limit: only store errors reject.
      return res(await limiter.penalty(key, points).catch(storeError));
    },
    async get(key) {
      const found = await limiter.get(key).catch(storeError);
      return found && found.consumedPoints > 0 && found.msBeforeNext !== 0 ? res(found) : undefined;
    },
    async set(key, count, secs) {
      await limiter.set(key, count, Math.max(1, Math.ceil(secs))).catch(storeError);
    },
    async delete(key) {
      return limiter.delete(key).catch(storeError);
    },
  };
}

function res(found: RateLimiterRes): { count: number; msLeft: number } {
  return { count: found.consumedPoints, msLeft: found.msBeforeNext };
}

async function storeCall<T>(call: () => Promise<T>): Promise<T> {
  return call().catch(storeError);
}

function storeError(error: unknown): never {
  throw new UnavailableError('the defenses store (Redis) did not answer; try again later', { cause: error });
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

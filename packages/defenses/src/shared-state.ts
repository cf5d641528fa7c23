import type { Redis } from 'ioredis';

/** One shared token bucket's consumption since this replica's last flush. */
export interface BucketDelta {
  /** The store key (already prefixed and encoded). */
  readonly key: string;
  readonly perSecond: number;
  readonly burst: number;
  /** Tokens this replica consumed since its last flush of this key (0: only read it back). */
  readonly delta: number;
}

/** Tokens leased from a fleet-wide window, valid until the window ends. */
export interface Lease {
  readonly granted: number;
  /** Ms left in the window the tokens belong to (by the store's clock). */
  readonly msLeft: number;
}

/**
 * What the replicas share through the store, on the store's clock (never a replica's, so clock skew
 * between replicas changes nothing). Every call may reject when the store does not answer.
 */
export interface SharedState {
  /** Applies each delta to its fleet-wide bucket and resolves to the tokens left in each (may be < 0: a debt). */
  syncBuckets(entries: readonly BucketDelta[]): Promise<number[]>;
  /** Takes up to `want` tokens of the current window of `windowMs` holding `perWindow` tokens fleet-wide. */
  lease(key: string, perWindow: number, windowMs: number, want: number): Promise<Lease>;
  /** Marks this replica alive for `ttlMs` and resolves to the number of replicas alive. */
  heartbeat(key: string, id: string, ttlMs: number): Promise<number>;
  /** Removes this replica from the count (on close). */
  leave(key: string, id: string): Promise<void>;
}

// The store's clock in ms; redis.replicate_commands() lets a script write after TIME on Redis < 7.
const NOW = `
if redis.replicate_commands then redis.replicate_commands() end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`;

/**
 * Token buckets: refilled at `perSecond` up to `burst`, the delta taken, a debt kept down to `-burst`
 * (what replicas allowed on a stale view is paid back, bounded). A missing key is a full bucket, so a
 * key expires once it would be full again. Floats are stored and returned as strings (a Lua number
 * would be truncated to an integer).
 */
const SYNC_BUCKETS = `${NOW}
local out = {}
for i, key in ipairs(KEYS) do
  local perMs = tonumber(ARGV[i * 3 - 2]) / 1000
  local burst = tonumber(ARGV[i * 3 - 1])
  local delta = tonumber(ARGV[i * 3])
  local state = redis.call('HMGET', key, 't', 'a')
  local tokens = tonumber(state[1])
  local at = tonumber(state[2])
  if tokens == nil or at == nil then
    tokens = burst
    at = now
  end
  tokens = math.min(burst, tokens + math.max(0, now - at) * perMs) - delta
  if tokens < -burst then tokens = -burst end
  if delta > 0 or state[1] then
    redis.call('HSET', key, 't', tostring(tokens), 'a', tostring(now))
    redis.call('PEXPIRE', key, math.ceil((burst - tokens) / perMs) + 1000)
  end
  out[i] = tostring(tokens)
end
return out
`;

/** A fixed window of the store's clock: `perWindow` tokens, handed out in leases until spent. */
const LEASE = `${NOW}
local windowMs = tonumber(ARGV[2])
local window = tostring(math.floor(now / windowMs))
local state = redis.call('HMGET', KEYS[1], 'w', 'u')
local used = 0
if state[1] == window then used = tonumber(state[2]) end
local granted = math.max(0, math.min(tonumber(ARGV[3]), tonumber(ARGV[1]) - used))
redis.call('HSET', KEYS[1], 'w', window, 'u', used + granted)
redis.call('PEXPIRE', KEYS[1], windowMs * 2)
return { granted, windowMs - (now % windowMs) }
`;

const HEARTBEAT = `${NOW}
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
redis.call('PEXPIRE', KEYS[1], ttl * 2)
return redis.call('ZCARD', KEYS[1])
`;

interface Scripted {
  wardenSyncBuckets(numKeys: number, ...args: (string | number)[]): Promise<string[]>;
  wardenLease(key: string, ...args: number[]): Promise<[number, number]>;
  wardenHeartbeat(key: string, id: string, ttlMs: number): Promise<number>;
}

/**
 * The {@link SharedState} of replicas on one Redis: three Lua scripts (loaded once, then called by
 * digest), each one atomic and one round trip; every key they touch expires.
 *
 * @example
 * ```ts
 * const shared = redisSharedState(new Redis('redis://127.0.0.1:6379'));
 * const [left] = await shared.syncBuckets([{ key: 'p:rq:client:c1', perSecond: 100, burst: 200, delta: 3 }]);
 * ```
 */
export function redisSharedState(redis: Redis): SharedState {
  redis.defineCommand('wardenSyncBuckets', { lua: SYNC_BUCKETS });
  redis.defineCommand('wardenLease', { lua: LEASE, numberOfKeys: 1 });
  redis.defineCommand('wardenHeartbeat', { lua: HEARTBEAT, numberOfKeys: 1 });
  const scripts = redis as unknown as Scripted;
  return {
    async syncBuckets(entries) {
      if (entries.length === 0) return [];
      const args: (string | number)[] = entries.map((e) => e.key);
      for (const e of entries) args.push(e.perSecond, e.burst, e.delta);
      const out = await scripts.wardenSyncBuckets(entries.length, ...args);
      return out.map(Number);
    },
    async lease(key, perWindow, windowMs, want) {
      const [granted, msLeft] = await scripts.wardenLease(key, perWindow, windowMs, want);
      return { granted: Number(granted), msLeft: Number(msLeft) };
    },
    async heartbeat(key, id, ttlMs) {
      return Number(await scripts.wardenHeartbeat(key, id, ttlMs));
    },
    async leave(key, id) {
      await redis.zrem(key, id);
    },
  };
}

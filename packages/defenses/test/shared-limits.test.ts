import { randomUUID } from 'node:crypto';
import { createGuard, type Principal } from '@mqtt-warden/core';
import {
  createDefenses,
  FleetSync,
  LeasedBudget,
  redisSharedState,
  type SharedState,
  SharedTokenBuckets,
} from '@mqtt-warden/defenses';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';

// The lease and flush logic on an injected clock, against a store that keeps the Redis scripts'
// rules on the same clock (tested against Redis itself at the end of this file).

function fakeStore(clock: { t: number }) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const windows = new Map<string, { w: number; used: number }>();
  const members = new Map<string, number>();
  const calls = { lease: 0, sync: 0, keys: [] as number[] };
  let down = false;
  const check = async () => {
    if (down) throw Object.assign(new Error('connection is closed'), { code: 'ECONNREFUSED' });
  };
  const state: SharedState = {
    async syncBuckets(entries) {
      await check();
      calls.sync++;
      calls.keys.push(entries.length);
      return entries.map(({ key, perSecond, burst, delta }) => {
        const b = buckets.get(key) ?? { tokens: burst, at: clock.t };
        const tokens = Math.max(
          -burst,
          Math.min(burst, b.tokens + (clock.t - b.at) * (perSecond / 1000)) - delta,
        );
        buckets.set(key, { tokens, at: clock.t });
        return tokens;
      });
    },
    async lease(key, perWindow, windowMs, want) {
      await check();
      calls.lease++;
      const w = Math.floor(clock.t / windowMs);
      const s = windows.get(key);
      const used = s?.w === w ? s.used : 0;
      const granted = Math.max(0, Math.min(want, perWindow - used));
      windows.set(key, { w, used: used + granted });
      return { granted, msLeft: windowMs - (clock.t % windowMs) };
    },
    async heartbeat(_key, id) {
      await check();
      members.set(id, clock.t);
      return [...members.values()].filter((t) => t > clock.t - 10_000).length;
    },
    async leave(_key, id) {
      members.delete(id);
    },
  };
  return { state, calls, setDown: (d: boolean) => (down = d) };
}

const rate = { perSecond: 100, burst: 100 };

function budgets(clock: { t: number }, store: ReturnType<typeof fakeStore>, replicas = 2) {
  const errors: unknown[] = [];
  const make = () =>
    new LeasedBudget({
      shared: store.state,
      key: 'storm:fresh',
      rate,
      chunks: 10,
      replicas: () => replicas,
      onError: (e) => errors.push(e),
      now: () => clock.t,
    });
  return { a: make(), b: make(), errors };
}

describe('leased verification budget', () => {
  it('gives two replicas together at most the budget per store window, in a few leases', async () => {
    const clock = { t: 5_000 };
    const store = fakeStore(clock);
    const { a, b } = budgets(clock, store);
    const perWindow: number[] = [];
    for (let second = 0; second < 3; second++) {
      let taken = 0;
      // 400 attempts a second on each replica, 2.5 ms apart.
      for (let i = 0; i < 400; i++) {
        if (await a.take()) taken++;
        if (await b.take()) taken++;
        clock.t += 2.5;
      }
      perWindow.push(taken);
    }
    expect(perWindow).toEqual([100, 100, 100]);
    // 10 chunks a window, plus at most one "spent" answer per replica per window.
    expect(store.calls.lease).toBeLessThanOrEqual(3 * (10 + 2));
  });

  it('lets leased tokens die with their window, so no replica carries a hoard into the next', async () => {
    const clock = { t: 10_000 };
    const store = fakeStore(clock);
    const { a, b } = budgets(clock, store);
    expect(await a.take()).toBe(true); // leases a chunk of 10
    expect(a.held).toBe(9);
    clock.t += 999;
    expect(a.held).toBe(9);
    clock.t += 1;
    expect(a.held).toBe(0);
    // The new window is whole for b.
    let taken = 0;
    for (let i = 0; i < 150; i++) if (await b.take()) taken++;
    expect(taken).toBe(100);
  });

  it('refuses without asking the store again while the window is spent', async () => {
    const clock = { t: 20_000 };
    const store = fakeStore(clock);
    const { a } = budgets(clock, store);
    for (let i = 0; i < 100; i++) expect(await a.take()).toBe(true);
    const leases = store.calls.lease;
    for (let i = 0; i < 1000; i++) expect(await a.take()).toBe(false);
    expect(store.calls.lease - leases).toBeLessThanOrEqual(1);
    expect(a.msUntil()).toBeGreaterThan(0);
    clock.t += 1000;
    expect(await a.take()).toBe(true);
  });

  it('store down: each replica takes budget / replicas on its own (bounded), then leases again', async () => {
    const clock = { t: 30_000 };
    const store = fakeStore(clock);
    const { a, errors } = budgets(clock, store, 2);
    store.setDown(true);
    let taken = 0;
    for (let i = 0; i < 2000; i++) {
      if (await a.take()) taken++;
      clock.t += 1; // 2 s of attempts, one every ms
    }
    // A bucket of 50/s, burst 50: 50 + 2 s x 50 at most.
    expect(taken).toBeGreaterThan(100);
    expect(taken).toBeLessThanOrEqual(150);
    expect(a.degraded).toBe(true);
    // Asked again once a second, not at every attempt.
    expect(errors.length).toBeLessThanOrEqual(3);
    store.setDown(false);
    clock.t += 1000;
    let back = 0;
    for (let i = 0; i < 200; i++) if (await a.take()) back++;
    expect(back).toBe(100);
    expect(a.degraded).toBe(false);
  });

  it('makes concurrent takers share one lease', async () => {
    const clock = { t: 40_000 };
    const store = fakeStore(clock);
    const { a } = budgets(clock, store);
    const results = await Promise.all(Array.from({ length: 30 }, () => a.take()));
    expect(results.filter(Boolean)).toHaveLength(30);
    expect(store.calls.lease).toBeLessThanOrEqual(4);
  });
});

function fleet(clock: { t: number }, store: ReturnType<typeof fakeStore>, maxKeys = 1000) {
  const logs: string[] = [];
  const logger = {
    warn: (_o: object, m?: string) => logs.push(`warn ${m}`),
    error: (_o: object, m?: string) => logs.push(`error ${m}`),
  };
  const sync = new FleetSync(store.state, {
    keyPrefix: 't',
    intervalMs: 100,
    maxKeys,
    now: () => clock.t,
    logger,
  });
  return { sync, logs, client: sync.buckets('client', { perSecond: 50, burst: 50 }) };
}

/** One request as authorize() makes it: refused when empty, else charged. */
function request(buckets: SharedTokenBuckets, key: string): boolean {
  if (buckets.msUntil(key) > 0) return false;
  buckets.charge(key, 1);
  return true;
}

describe('shared request buckets', () => {
  it('drains a key on B within one flush after A drained it', async () => {
    const clock = { t: 0 };
    const store = fakeStore(clock);
    const a = fleet(clock, store);
    const b = fleet(clock, store);
    for (let i = 0; i < 50; i++) expect(request(a.client, 'c1')).toBe(true);
    expect(request(a.client, 'c1')).toBe(false);
    await a.sync.flush();
    // B has not seen c1: its first request passes on its own view; its flush brings the fleet's.
    expect(request(b.client, 'c1')).toBe(true);
    await b.sync.flush();
    expect(request(b.client, 'c1')).toBe(false);
    expect(b.client.msUntil('c1')).toBeGreaterThan(0);
  });

  it('keeps a flood split over two replicas within burst + rate x T + rate x interval x replicas (+ first sight)', async () => {
    const clock = { t: 0 };
    const store = fakeStore(clock);
    const a = fleet(clock, store);
    const b = fleet(clock, store);
    let allowed = 0;
    const T = 5_000;
    for (let ms = 0; ms < T; ms++) {
      // 1,000 requests a second on each replica.
      if (request(a.client, 'flood')) allowed++;
      if (request(b.client, 'flood')) allowed++;
      clock.t++;
      if (ms % 100 === 99) await Promise.all([a.sync.flush(), b.sync.flush()]);
    }
    const oneBucket = 50 + (50 * T) / 1000; // 300
    const bound = oneBucket + 50 * 0.1 * 2 + 50; // + rate x interval x replicas + B's first sight (burst)
    expect(allowed).toBeGreaterThan(oneBucket * 0.9);
    expect(allowed).toBeLessThanOrEqual(bound);
    // Per-process buckets would have allowed about twice one bucket.
    expect(allowed).toBeLessThan(2 * oneBucket * 0.8);
  });

  it('flushes at most maxKeys keys per flush, oldest counts first, in one store call', async () => {
    const clock = { t: 0 };
    const store = fakeStore(clock);
    const a = fleet(clock, store, 2);
    const other = a.sync.buckets('principal', { perSecond: 50, burst: 50 });
    for (const key of ['k1', 'k2', 'k3']) a.client.charge(key, 1);
    other.charge('p1', 1);
    a.client.charge('k1', 1); // k1 keeps its place
    await a.sync.flush();
    expect(store.calls.keys).toEqual([2]);
    expect(a.client.pending).toBe(1);
    expect(other.pending).toBe(1);
    await a.sync.flush();
    expect(store.calls.keys).toEqual([2, 2]);
    expect(a.client.pending + other.pending).toBe(0);
  });

  it('keeps at most max keys in memory, their unflushed counts with them', () => {
    const buckets = new SharedTokenBuckets(
      'client',
      { perSecond: 1, burst: 5 },
      { keyPrefix: 't', max: 100 },
    );
    for (let i = 0; i < 10_000; i++) buckets.charge(`k${i}`, 1);
    expect(buckets.pending).toBeLessThanOrEqual(100);
    expect(buckets.drain(1000).map((d) => d.local)).toContain('k9999');
  });

  it('encodes keys so a client id cannot name another family, and hashes long ones', () => {
    const buckets = new SharedTokenBuckets('client', { perSecond: 1, burst: 5 }, { keyPrefix: 't:rq' });
    buckets.charge('a:principal:x', 1);
    buckets.charge('x'.repeat(65_536), 1);
    const keys = buckets.drain(10).map((d) => d.key);
    expect(keys[0]).toBe('t:rq:client:a%3Aprincipal%3Ax');
    expect(keys[1]).toMatch(/^t:rq:client:sha256\.[0-9a-f]{64}$/);
  });

  it('store down: local buckets only (still limiting), logged once per 10 s, counted; shared again after', async () => {
    const clock = { t: 0 };
    const store = fakeStore(clock);
    const a = fleet(clock, store);
    store.setDown(true);
    let allowed = 0;
    for (let ms = 0; ms < 20_000; ms += 10) {
      if (request(a.client, 'c')) allowed++;
      clock.t += 10;
      if (ms % 100 === 90) await a.sync.flush();
    }
    expect(allowed).toBeLessThanOrEqual(50 + 50 * 20);
    expect(allowed).toBeLessThan(2000); // 100 asked a second, limited to 50
    expect(a.sync.stats()).toMatchObject({ degraded: true });
    expect(a.sync.stats().errors).toBeGreaterThan(100);
    expect(a.logs.filter((l) => l.startsWith('error'))).toHaveLength(2);
    store.setDown(false);
    request(a.client, 'c');
    await a.sync.flush();
    expect(a.sync.stats().degraded).toBe(false);
    expect(a.logs.at(-1)).toMatch(/reachable again/);
  });
});

describe('Redis scripts', () => {
  const redis = new Redis('redis://127.0.0.1:6379');
  const prefix = `test-shared-${randomUUID()}`;
  const shared = redisSharedState(redis);
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('apply deltas atomically on the store clock, keep a debt down to -burst, and expire keys', async () => {
    const key = `${prefix}:rq:client:c1`;
    const [first] = await shared.syncBuckets([{ key, perSecond: 10, burst: 20, delta: 5 }]);
    expect(first).toBeCloseTo(15, 0);
    const [second] = await shared.syncBuckets([{ key, perSecond: 10, burst: 20, delta: 100 }]);
    expect(second).toBe(-20);
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(1000);
    expect(ttl).toBeLessThanOrEqual(5000 + 1000);
    // Many keys in one call, floats kept.
    const many = await shared.syncBuckets(
      Array.from({ length: 50 }, (_, i) => ({
        key: `${prefix}:rq:p:${i}`,
        perSecond: 1,
        burst: 2,
        delta: 0.5,
      })),
    );
    expect(many).toEqual(Array(50).fill(1.5));
  });

  it('hand out at most the window across concurrent leases', async () => {
    const key = `${prefix}:storm:fresh`;
    const leases = await Promise.all(Array.from({ length: 40 }, () => shared.lease(key, 100, 60_000, 7)));
    expect(leases.reduce((sum, l) => sum + l.granted, 0)).toBe(100);
    for (const l of leases) expect(l.msLeft).toBeLessThanOrEqual(60_000);
  });

  it('count replicas alive and forget one that leaves', async () => {
    const key = `${prefix}:replicas`;
    expect(await shared.heartbeat(key, 'a', 10_000)).toBe(1);
    expect(await shared.heartbeat(key, 'b', 10_000)).toBe(2);
    await shared.leave(key, 'a');
    expect(await shared.heartbeat(key, 'b', 10_000)).toBe(1);
  });
});

describe('createDefenses on one Redis', () => {
  const prefix = `test-shared-defenses-${randomUUID()}`;
  afterAll(async () => {
    const redis = new Redis('redis://127.0.0.1:6379');
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('refuses on B a principal drained through A, within about one flush', async () => {
    const config = {
      store: { redis: { url: 'redis://127.0.0.1:6379', keyPrefix: prefix } },
      lockout: { enabled: false },
      rateLimits: {
        requests: {
          perPrincipal: { perSecond: 0.001, burst: 100 },
          perClientId: { perSecond: 0.001, burst: 100_000 },
          shared: { intervalMs: 50 },
        },
      },
    } as const;
    const [a, b] = await Promise.all([createDefenses(config), createDefenses(config)]);
    try {
      const guard = createGuard({
        authenticators: [],
        authorizer: { authorize: () => ({ allowed: true, reason: 'rule' }) },
      });
      const [ga, gb] = [a.protect(guard), b.protect(guard)];
      const principal: Principal = {
        id: 'alice',
        clientId: 'c-alice',
        method: 'password',
        roles: [],
        attributes: {},
      };
      const ask = (g: typeof ga) => g.authorize(principal, { action: 'publish', topic: 'ok/x' }).allowed;
      let onA = 0;
      for (let i = 0; i < 150; i++) if (ask(ga)) onA++;
      expect(onA).toBe(100);
      await new Promise((resolve) => setTimeout(resolve, 150)); // A's flush
      let onB = 0;
      for (let i = 0; i < 100; i++) {
        if (ask(gb)) onB++;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      // Per-process buckets would give B its own 100; B allows only until its first flush.
      expect(onB).toBeGreaterThan(0);
      expect(onB).toBeLessThan(40);
      expect(b.stats().shared?.replicas).toBeGreaterThanOrEqual(1);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

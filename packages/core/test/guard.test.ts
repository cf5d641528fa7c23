import {
  type AccessRequest,
  type AuditEvent,
  type Authenticator,
  type Authorizer,
  type ConnectRequest,
  createGuard,
  type Decision,
  type Principal,
  UnavailableError,
} from '@mqtt-warden/core';
import { describe, expect, it, vi } from 'vitest';
import { gc, heapAfterGc, longTopics, MiB } from '../../../test/heap.js';

const SECRET = 'correct horse battery staple';
const request: ConnectRequest = {
  clientId: 'dev1',
  username: 'dev1',
  password: new TextEncoder().encode(SECRET),
  transport: { tls: true, remoteAddress: '10.0.0.7' },
};
const principal = (extra: Partial<Principal> = {}): Principal => ({
  id: 'dev1',
  clientId: 'dev1',
  username: 'dev1',
  method: 'test',
  roles: ['device'],
  attributes: {},
  ...extra,
});
const allowAll: Authorizer = { authorize: () => ({ allowed: true, reason: 'rule' }) };
const auth = (name: string, answer: Authenticator['authenticate']): Authenticator => ({
  name,
  authenticate: answer,
});
const publish: AccessRequest = { action: 'publish', topic: 'devices/dev1/telemetry', qos: 1 };

function capturingLogger() {
  const lines: string[] = [];
  const log = (obj: object, msg?: string) => lines.push(JSON.stringify({ ...obj, msg }));
  return { lines, logger: { warn: log, error: log } };
}

describe('createGuard: authenticate', () => {
  it('lets the first answer that is not ignore decide', async () => {
    const second = vi.fn(() => ({ outcome: 'allow' as const, principal: principal() }));
    const third = vi.fn(() => ({ outcome: 'deny' as const, reason: 'bad-credentials' as const }));
    const guard = createGuard({
      authenticators: [auth('a', () => ({ outcome: 'ignore' })), auth('b', second), auth('c', third)],
      authorizer: allowAll,
    });
    const result = await guard.authenticate(request);
    expect(result).toMatchObject({ ok: true, authenticator: 'b', principal: { id: 'dev1' } });
    expect(third).not.toHaveBeenCalled();
  });

  it('denies with the authenticator’s reason', async () => {
    const guard = createGuard({
      authenticators: [
        auth('a', () => ({ outcome: 'deny', reason: 'bad-credentials', message: 'wrong password' })),
      ],
      authorizer: allowAll,
    });
    expect(await guard.authenticate(request)).toEqual({
      ok: false,
      reason: 'bad-credentials',
      message: 'wrong password',
      authenticator: 'a',
    });
  });

  it('denies when every authenticator ignores, or there are none', async () => {
    const ignoring = createGuard({
      authenticators: [auth('a', () => ({ outcome: 'ignore' }))],
      authorizer: allowAll,
    });
    expect(await ignoring.authenticate(request)).toMatchObject({ ok: false, reason: 'no-authenticator' });
    const empty = createGuard({ authenticators: [], authorizer: allowAll });
    expect(await empty.authenticate(request)).toMatchObject({ ok: false, reason: 'no-authenticator' });
  });

  it('turns a throw or a rejection into a deny with reason error, logged without secrets', async () => {
    const { lines, logger } = capturingLogger();
    const allowAfter = auth('later', () => ({ outcome: 'allow', principal: principal() }));
    for (const failing of [
      auth('throws', () => {
        throw new Error(`cannot verify ${SECRET}`);
      }),
      auth('rejects', () => Promise.reject(new TypeError(`bad input ${SECRET}`))),
    ]) {
      const guard = createGuard({ authenticators: [failing, allowAfter], authorizer: allowAll, logger });
      expect(await guard.authenticate(request)).toMatchObject({ ok: false, reason: 'error' });
    }
    expect(lines).toHaveLength(2);
    expect(lines.join('\n')).toContain('ERR_INTERNAL');
    expect(lines.join('\n')).not.toContain(SECRET);
  });

  it('reports a backend outage as unavailable, so adapters can answer "try later"', async () => {
    const guard = createGuard({
      authenticators: [
        auth('jwks', () => {
          throw new UnavailableError('JWKS endpoint unreachable');
        }),
      ],
      authorizer: allowAll,
    });
    expect(await guard.authenticate(request)).toMatchObject({ ok: false, reason: 'unavailable' });
  });

  it('denies a principal that is already expired', async () => {
    const guard = createGuard({
      authenticators: [auth('a', () => ({ outcome: 'allow', principal: principal({ expiresAt: 999 }) }))],
      authorizer: allowAll,
      now: () => 1000,
    });
    expect(await guard.authenticate(request)).toMatchObject({ ok: false, reason: 'expired' });
  });

  it('applies the authorizer’s connect rules; a throwing admit denies', async () => {
    const ok = auth('a', () => ({ outcome: 'allow', principal: principal() }));
    const refusing = createGuard({
      authenticators: [ok],
      authorizer: {
        ...allowAll,
        admit: () => ({ allowed: false, reason: 'rule', message: 'client id not allowed' }),
      },
    });
    expect(await refusing.authenticate(request)).toMatchObject({
      ok: false,
      reason: 'not-authorized',
      message: 'client id not allowed',
    });
    const broken = createGuard({
      authenticators: [ok],
      authorizer: {
        ...allowAll,
        admit: () => {
          throw new Error('bug');
        },
      },
    });
    expect(await broken.authenticate(request)).toMatchObject({ ok: false, reason: 'error' });
  });
});

describe('createGuard: authorize', () => {
  it('allows superusers without consulting the policy', () => {
    const authorize = vi.fn((): Decision => ({ allowed: false, reason: 'default' }));
    const guard = createGuard({ authenticators: [], authorizer: { authorize } });
    expect(guard.authorize(principal({ superuser: true }), publish)).toMatchObject({
      allowed: true,
      reason: 'superuser',
    });
    expect(authorize).not.toHaveBeenCalled();
  });

  it('denies an expired principal even when an allow is cached', () => {
    let clock = 1_000;
    const guard = createGuard({ authenticators: [], authorizer: allowAll, now: () => clock });
    const p = principal({ expiresAt: 2_000 });
    expect(guard.authorize(p, publish).allowed).toBe(true);
    clock = 2_000;
    expect(guard.authorize(p, publish)).toMatchObject({ allowed: false, reason: 'expired' });
    expect(guard.authorize(principal({ expiresAt: 2_000, superuser: true }), publish).allowed).toBe(false);
  });

  it('turns a throwing authorizer into a deny that is not cached', () => {
    let fail = true;
    const guard = createGuard({
      authenticators: [],
      authorizer: {
        authorize: () => {
          if (fail) throw new Error('bug');
          return { allowed: true, reason: 'rule' };
        },
      },
    });
    expect(guard.authorize(principal(), publish)).toMatchObject({ allowed: false, reason: 'error' });
    fail = false;
    expect(guard.authorize(principal(), publish).allowed).toBe(true);
  });

  it('caches decisions by principal, action, topic, qos and retain, and counts hits and misses', () => {
    const authorize = vi.fn(
      (_p: Principal, r: AccessRequest): Decision => ({ allowed: r.qos !== 2, reason: 'rule' }),
    );
    const guard = createGuard({ authenticators: [], authorizer: { authorize } });
    const p = principal();
    guard.authorize(p, publish);
    guard.authorize(principal(), publish); // an equal principal built again (as HTTP adapters do) hits
    expect(guard.authorize(p, { ...publish, qos: 2 }).allowed).toBe(false);
    guard.authorize(p, { ...publish, retain: true });
    guard.authorize(p, { ...publish, action: 'receive' });
    guard.authorize(p, { ...publish, topic: 'devices/dev1/other' });
    guard.authorize(principal({ roles: ['admin'] }), publish); // different roles: a different principal
    expect(authorize).toHaveBeenCalledTimes(6);
    expect(guard.stats()).toMatchObject({ cacheHits: 1, cacheMisses: 6, cacheSize: 6 });
  });

  it('never lets one request reuse the decision of a different one', () => {
    const authorize = (p: Principal, r: AccessRequest): Decision => ({
      allowed: p.attributes.site === 'a' && r.shareGroup === undefined && r.topic === 'x/y',
      reason: 'rule',
    });
    const guard = createGuard({ authenticators: [], authorizer: { authorize } });
    const a = principal({ attributes: { site: 'a' } });
    const b = principal({ attributes: { site: 'b' } });
    expect(guard.authorize(a, { action: 'receive', topic: 'x/y' }).allowed).toBe(true);
    expect(guard.authorize(b, { action: 'receive', topic: 'x/y' }).allowed).toBe(false);
    // Fields must not run into each other: share group "x" + topic "/y" is not topic "x/y".
    expect(guard.authorize(a, { action: 'receive', topic: '/y', shareGroup: 'x' }).allowed).toBe(false);
    expect(guard.authorize(a, { action: 'receive', topic: 'x/y', shareGroup: '' }).allowed).toBe(false);
    expect(guard.authorize(a, { action: 'receive', topic: 'x/y' }).allowed).toBe(true);
  });

  it('expires cached decisions after their TTL and bounds the cache size', async () => {
    const authorize = vi.fn((): Decision => ({ allowed: true, reason: 'rule' }));
    const guard = createGuard({
      authenticators: [],
      authorizer: { authorize },
      cache: { ttlMs: 30, max: 2 },
    });
    const p = principal();
    guard.authorize(p, publish);
    guard.authorize(p, publish);
    expect(authorize).toHaveBeenCalledTimes(1);
    await new Promise((r) => setTimeout(r, 60));
    guard.authorize(p, publish);
    expect(authorize).toHaveBeenCalledTimes(2);
    for (const topic of ['a', 'b', 'c']) guard.authorize(p, { ...publish, topic });
    expect(guard.stats().cacheSize).toBe(2);
  });

  it('keeps the heap bounded by its byte bound while deciding 10,000 distinct 15 KB topics', () => {
    // Before the byte bound, the key table kept every one of them: ~150 MiB here, 1.76 GiB in the server.
    const guard = createGuard({
      authenticators: [],
      authorizer: allowAll,
      cache: { maxTopicLength: 20_000 },
    });
    // Built in two batches so that the topics themselves are garbage once decided, each in a function of its
    // own so that no frame still on the stack when the heap is measured holds them (see `heapAfterGc`).
    const decideBatch = (batch: number) => {
      for (const topic of longTopics(5_000, 15_000, `b${batch}/`)) {
        expect(guard.authorize(principal(), { action: 'publish', topic }).allowed).toBe(true);
      }
    };
    const before = heapAfterGc();
    for (const batch of [0, 1]) decideBatch(batch);
    const kept = heapAfterGc() - before;
    expect(kept).toBeLessThan(16 * MiB + 8 * MiB); // the default 16 MiB of topic strings + slack
    expect(guard.stats().cacheMisses).toBe(10_000); // and the guard was alive when measured
  });

  it('keeps the heap within maxBytes under a flood of distinct principals, long topics and one topic many ask about', () => {
    const maxBytes = 4 * MiB;
    const guard = createGuard({
      authenticators: [],
      authorizer: allowAll,
      cache: { max: 10 ** 9, maxBytes, maxTopicLength: 20_000 },
    });
    // Each batch in a function of its own, so that its frame (the batch's 5 MB of topics) is gone when the
    // heap is measured: see `heapAfterGc`.
    const flood = (batch: number) => {
      // Principals with distinct contents (as an HTTP adapter rebuilds them), each built for one request.
      let n = 0;
      const someone = () => principal({ id: `b${batch}p${n++}`, attributes: { note: 'z'.repeat(100) } });
      for (const topic of longTopics(1_000, 5_000, `b${batch}/`))
        guard.authorize(someone(), { action: 'publish', topic });
      for (let i = 0; i < 100_000; i++) {
        // V8 sometimes pretenures these principals (allocates them in the old generation, from survival
        // feedback that depends on timing): then only a full collection frees them, and the two weak tables
        // that number principal objects (DecisionKeys, principalKey) grow to 2 × 4 MiB of mostly dead
        // entries and never shrink. A full collection every 10,000 keeps them at 2 × 0.5 MiB at most.
        if (i % 10_000 === 0) gc();
        guard.authorize(someone(), { action: 'receive', topic: 'fleet/broadcast' });
      }
    };
    const before = heapAfterGc();
    for (const batch of [0, 1, 2]) flood(batch);
    const kept = heapAfterGc() - before;
    // The decisions with their topics (3.8 MiB freed when cleared), and separately the principal contents:
    // maxBytes each, + 2 MiB for the two weak tables (1 MiB) and noise. Kept 8.0–8.6 MiB, also with the
    // principals pretenured, unoptimized and with the optimizer starved; 13.3 MiB with decisions uncounted.
    expect(kept, `kept ${(kept / MiB).toFixed(1)} MiB`).toBeLessThan(2 * maxBytes + 2 * MiB);
    expect(guard.stats().cacheMisses).toBe(303_000); // all distinct, and the guard was alive when measured
  }, 60_000);

  it('never answers one principal or request with a decision cached for another, however the client crafts them', () => {
    // The client chooses its client id (and claimed username), the topic and the share group.
    const parts = ['', 'a', '/', '1:', '1:a/', ':', '"', '","', '\\', '[', ',', 'null', '+', '#'];
    const requests: { who: Principal; request: AccessRequest }[] = [];
    for (const clientId of parts) {
      for (const group of [undefined, ...parts]) {
        for (const topic of parts.map((p) => `${p}/x`).concat(parts)) {
          requests.push({
            who: principal({ clientId, claimedUsername: `${clientId}"` }),
            request: { action: 'subscribe', topic, shareGroup: group, qos: 1 },
          });
        }
      }
    }
    const name = (p: Principal, r: AccessRequest) =>
      JSON.stringify([p.clientId, r.shareGroup ?? null, r.topic]);
    // Each request is allowed exactly once, when it is the one picked; everything else is denied.
    for (const picked of [0, 1, 777, requests.length - 1]) {
      const target = name(requests[picked]!.who, requests[picked]!.request);
      const guard = createGuard({
        authenticators: [],
        authorizer: { authorize: (p, r) => ({ allowed: name(p, r) === target, reason: 'rule' }) },
      });
      for (const pass of [0, 1]) {
        for (const [i, { who, request }] of requests.entries()) {
          expect(guard.authorize(who, request).allowed, `${pass} ${name(who, request)}`).toBe(i === picked);
        }
      }
      expect(guard.stats().cacheHits).toBe(requests.length); // the second pass came from the cache
    }
  });

  it('decides topics over the length bound without caching them', () => {
    const authorize = vi.fn(allowAll.authorize);
    const guard = createGuard({
      authenticators: [],
      authorizer: { authorize },
      cache: { maxTopicLength: 8 },
    });
    const long = { action: 'publish', topic: 'a/b/c/d/e' } as const;
    expect(guard.authorize(principal(), long).allowed).toBe(true);
    expect(guard.authorize(principal(), long).allowed).toBe(true);
    expect(authorize).toHaveBeenCalledTimes(2);
    expect(guard.stats().cacheSize).toBe(0);
  });

  it('clears the cache when the authorizer reports a policy change, and tells listeners', () => {
    let allowed = true;
    let changed: () => void = () => {};
    const guard = createGuard({
      authenticators: [],
      authorizer: {
        authorize: () => ({ allowed, reason: 'rule' }),
        onChange: (listener) => {
          changed = listener;
          return () => {};
        },
      },
    });
    const listener = vi.fn();
    guard.onChange(listener);
    expect(guard.authorize(principal(), publish).allowed).toBe(true);
    allowed = false;
    expect(guard.authorize(principal(), publish).allowed).toBe(true); // still cached
    changed();
    expect(listener).toHaveBeenCalledOnce();
    expect(guard.authorize(principal(), publish).allowed).toBe(false);
  });

  it('works without a cache', () => {
    const authorize = vi.fn((): Decision => ({ allowed: true, reason: 'rule' }));
    const guard = createGuard({ authenticators: [], authorizer: { authorize }, cache: false });
    guard.authorize(principal(), publish);
    guard.authorize(principal(), publish);
    expect(authorize).toHaveBeenCalledTimes(2);
  });
});

describe('createGuard: audit', () => {
  it('emits one event per decision with outcome, rule and latency, and no secret', async () => {
    const events: AuditEvent[] = [];
    const rule = { id: 'role:device#0', effect: 'allow' as const, role: 'device' };
    const guard = createGuard({
      authenticators: [auth('password', () => ({ outcome: 'allow', principal: principal() }))],
      authorizer: { authorize: () => ({ allowed: true, reason: 'rule', rule }) },
      audit: (e) => events.push(e),
    });
    const result = await guard.authenticate(request);
    if (!result.ok) throw new Error('expected allow');
    guard.authorize(result.principal, publish);
    guard.authorize(result.principal, publish);
    expect(events).toHaveLength(3);
    expect(events[0]).toMatchObject({
      type: 'authenticate',
      allowed: true,
      authenticator: 'password',
      clientId: 'dev1',
      remoteAddress: '10.0.0.7',
    });
    expect(events[1]).toMatchObject({
      type: 'authorize',
      allowed: true,
      rule,
      cached: false,
      topic: publish.topic,
    });
    expect(events[2]).toMatchObject({ cached: true });
    for (const e of events) expect(e.durationMs).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(events)).not.toContain(SECRET);
  });
});

import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DecisionCache } from '../src/decision-cache.js';
import type { Decision } from '../src/types.js';

const allow: Decision = { allowed: true, reason: 'rule' };
const deny: Decision = { allowed: false, reason: 'default' };

/** Looks up and stores 9 decisions under 4 topics over 2,000 clock steps; returns how many lookups hit. */
function churn(cache: DecisionCache, ttlMs: number, advance: (ms: number) => void, clock: () => number) {
  const storedAt = new Map<string, number>();
  let served = 0;
  // Steps of 1–29 ms with lookups of old and new entries, so that entries sit in both generations.
  for (let step = 0; step < 2_000; step++) {
    advance(1 + ((step * 7) % 29));
    // Pseudo-random revisits, many of them near the TTL; keys share topics.
    const key = ((step * 7_919) >> 3) % 9;
    const topic = `t/${key % 4}`;
    if (cache.get(topic, key)) {
      served++;
      expect(clock() - storedAt.get(`${topic} ${key}`)!).toBeLessThanOrEqual(ttlMs);
    } else {
      cache.set(topic, key, allow);
      storedAt.set(`${topic} ${key}`, clock());
    }
  }
  return served;
}

describe('DecisionCache', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('never serves a decision more than ttlMs after it was stored, whatever the access pattern', () => {
    let clock = 1_000;
    const ttlMs = 100;
    const cache = new DecisionCache({ max: 1_000, maxBytes: 2 ** 20, ttlMs, now: () => clock });
    const served = churn(
      cache,
      ttlMs,
      (ms) => {
        clock += ms;
      },
      () => clock,
    );
    expect(served).toBeGreaterThan(100);
  });

  it('keeps the TTL with its own clock, which reads the system clock only now and then', () => {
    vi.useFakeTimers({ now: 1_000 });
    const ttlMs = 100;
    const cache = new DecisionCache({ max: 1_000, maxBytes: 2 ** 20, ttlMs });
    // The event loop runs between steps: the clock's timer marks its reading stale.
    const served = churn(cache, ttlMs, (ms) => vi.advanceTimersByTime(ms), Date.now);
    expect(served).toBeGreaterThan(100);
  });

  it('keeps the TTL with its own clock while lookups run without a turn of the event loop', () => {
    vi.useFakeTimers({ now: 1_000 });
    const ttlMs = 100;
    const cache = new DecisionCache({ max: 1_000, maxBytes: 2 ** 20, ttlMs });
    cache.set('t', 1, allow);
    // Time passes but no timer runs (a long synchronous burst): the clock is still reread every 64 readings.
    vi.setSystemTime(Date.now() + ttlMs + 1);
    let served = 0;
    for (let i = 0; i < 200; i++) if (cache.get('t', 1)) served++;
    expect(served).toBeLessThan(64);
    expect(cache.get('t', 1)).toBeUndefined();
  });

  it('never serves a moved decision past ttlMs after it was first stored', () => {
    let clock = 0;
    const cache = new DecisionCache({ max: 4, maxBytes: 2 ** 20, ttlMs: 100, now: () => clock });
    cache.set('a', 1, allow);
    cache.set('b', 1, allow);
    clock = 10;
    cache.set('c', 1, allow); // the first generation is full: it turns, 'a' is in the previous one
    clock = 20;
    expect(cache.get('a', 1)).toBe(allow); // and moves to the current one, born at 10
    clock = 99;
    expect(cache.get('a', 1)).toBe(allow);
    clock = 100; // a TTL after 'a' was stored, though not after the generation it moved to began
    expect(cache.get('a', 1)).toBeUndefined();
  });

  it('moves a hit in the previous generation to the current one, so a hot decision survives turns', () => {
    const cache = new DecisionCache({ max: 20, maxBytes: 2 ** 20, ttlMs: 60_000, now: () => 0 });
    cache.set('hot', 1, allow);
    for (let i = 0; i < 1_000; i++) {
      cache.set(`cold/${i}`, 2, deny); // ten a generation: a turn every ten steps
      expect(cache.get('hot', 1), `step ${i}`).toBe(allow);
    }
    expect(cache.get('cold/0', 2)).toBeUndefined();
    expect(cache.size).toBeLessThanOrEqual(20);
  });

  it('keeps decisions and keys apart whether packed with their key or not', () => {
    // More distinct decisions than the packing table names, and keys up to the largest a guard makes.
    const cache = new DecisionCache({ max: 10_000, maxBytes: 2 ** 24, ttlMs: 60_000, now: () => 0 });
    const decisions = Array.from(
      { length: 300 },
      (_, i): Decision => ({ allowed: i % 2 === 0, reason: 'rule' }),
    );
    const keyOf = (i: number) => (i * 7_919_993) % 2 ** 30;
    for (const [i, d] of decisions.entries()) cache.set(`t/${i}`, keyOf(i), d);
    decisions.forEach((d, i) => {
      expect(cache.get(`t/${i}`, keyOf(i))).toBe(d);
      expect(cache.get(`t/${i}`, keyOf(i) + 1)).toBeUndefined();
      expect(cache.get(`t/${i}`, keyOf(i) ^ (2 ** 23))).toBeUndefined();
      expect(cache.get(`t/${(i + 1) % 300}`, keyOf(i))).toBeUndefined();
    });
    // A second key on a packed topic, and a replaced decision.
    cache.set('t/0', 5, decisions[1]!);
    cache.set('t/2', keyOf(2), decisions[3]!);
    expect([cache.get('t/0', keyOf(0)), cache.get('t/0', 5), cache.get('t/2', keyOf(2))]).toEqual([
      decisions[0],
      decisions[1],
      decisions[3],
    ]);
    expect(cache.usage).toMatchObject({ decisions: 301, topics: 300 });
  });

  it('keeps a topic’s decisions for different keys apart', () => {
    const cache = new DecisionCache({ max: 1_000, maxBytes: 2 ** 20, ttlMs: 60_000, now: () => 0 });
    cache.set('t', 1, allow);
    cache.set('t', 2, deny);
    cache.set('t', 3, allow);
    cache.set('u', 2, allow);
    expect([cache.get('t', 1), cache.get('t', 2), cache.get('t', 3), cache.get('t', 4)]).toEqual([
      allow,
      deny,
      allow,
      undefined,
    ]);
    expect([cache.get('u', 1), cache.get('u', 2)]).toEqual([undefined, allow]);
    cache.set('t', 2, allow); // a stored key is replaced, not counted twice
    expect(cache.get('t', 2)).toBe(allow);
    expect(cache.usage).toMatchObject({ decisions: 4, topics: 2 });
  });

  it('keeps at most max decisions and forgets the oldest generation first', () => {
    const cache = new DecisionCache({ max: 4, maxBytes: 2 ** 20, ttlMs: 60_000, now: () => 0 });
    for (let key = 0; key < 10; key++) cache.set(`t/${key % 3}`, key, allow);
    expect(cache.size).toBeLessThanOrEqual(4);
    expect(cache.get('t/0', 9)).toBe(allow);
    expect(cache.get('t/0', 0)).toBeUndefined();
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.get('t/0', 9)).toBeUndefined();
  });

  it('forgets a generation at a time: the newest entries survive every rotation', () => {
    // Room for some 55 of these topics in a generation; 1,000 go through.
    const cache = new DecisionCache({ max: 10 ** 6, maxBytes: 20_000, ttlMs: 60_000, now: () => 0 });
    const topic = (i: number) => `devices/${i}/telemetry`;
    for (let i = 0; i < 1_000; i++) {
      cache.set(topic(i), 7, allow);
      // However the generations fell, the last 30 topics are all still there.
      for (let back = Math.max(0, i - 29); back <= i; back++) expect(cache.get(topic(back), 7)).toBe(allow);
    }
    expect(cache.get(topic(0), 7)).toBeUndefined();
  });

  it('keeps its topics in strings of their own, not the request bodies they were cut from', () => {
    // 400 topics cut from 64 KiB bodies (a slice, a concatenation with a slice): held as they come,
    // they keep ~25 MiB alive while the cache counts a few hundred bytes each.
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const cache = new DecisionCache({ max: 10_000, maxBytes: 16 * 2 ** 20, ttlMs: 60_000, now: () => 0 });
    const padding = 'p'.repeat(64 * 1024);
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 400; i++) {
      const body = `${padding}devices/u${i}/telemetry/${i}`;
      const topic = body.slice(padding.length);
      const shared = `1:g/${body.slice(padding.length + 8)}`;
      cache.set(topic, 1, allow);
      cache.set(shared, 2, deny);
      expect(cache.get(topic, 1)).toBe(allow);
      expect(cache.get(`devices/u${i}/telemetry/${i}`, 1)).toBe(allow);
      expect(cache.get(shared, 2)).toBe(deny);
    }
    gc();
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(4 * 1024 * 1024);
    expect(cache.size).toBe(800);
    // Any string is kept exactly, lone surrogates too.
    for (const odd of ['a\ud800b', '\udc00', 'é/✓/\u0000/"\\']) {
      cache.set(odd, 3, allow);
      expect(cache.get(odd, 3)).toBe(allow);
      expect(cache.get(`${odd}x`, 3)).toBeUndefined();
    }
  });

  it('stays within maxBytes, as counted, under a flood of long topics and of keys on one topic', () => {
    const maxBytes = 256 * 1024;
    const cache = new DecisionCache({ max: 10 ** 9, maxBytes, ttlMs: 60_000, now: () => 0 });
    const long = 'x'.repeat(5_000);
    let most = 0;
    for (let i = 0; i < 2_000; i++) {
      cache.set(`${i}/${long}`, i, allow);
      // A topic asked about by many principals: each key costs bytes too.
      for (let k = 0; k < 50; k++) cache.set('fan/out', i * 50 + k, allow);
      most = Math.max(most, cache.usage.bytes);
    }
    expect(most).toBeLessThanOrEqual(maxBytes);
    expect(most).toBeGreaterThan(maxBytes / 2); // the bound is what limits it here, not something else
    // A topic longer than a whole generation's bytes is not cached at all.
    cache.set('y'.repeat(maxBytes), 1, allow);
    expect(cache.get('y'.repeat(maxBytes), 1)).toBeUndefined();
  });
});

import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Clock } from '../src/coarse-clock.js';
import { DecisionCache } from '../src/decision-cache.js';
import type { Decision } from '../src/types.js';
import { heapKeptBy } from './heap-kept.js';

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

  for (const shape of ['decisions', 'bytes'] as const) {
    it(`keeps a working set of up to max ${shape} warm: after one pass, only hits, whatever the turns`, () => {
      // Bounded by its count: 1,125 and 2,000 decisions (as the server bench: 112,500 of a cache of 200,000,
      // and the whole bound), up to three keys a topic. Bounded by its bytes: one key a topic, topics of
      // 8–70 characters, counted at 128 + 2 a character, up to all of maxBytes.
      const max = 2_000;
      const length = (i: number) => 8 + ((i * 37) % 63);
      const checks = (w: number) =>
        Array.from({ length: w }, (_, i) =>
          shape === 'decisions'
            ? { topic: `devices/${Math.floor(i / 3)}/t`, key: i % 3 }
            : { topic: `${i}/`.padEnd(length(i), 'x'), key: 7 },
        );
      const bytesOf = (w: number) => checks(w).reduce((sum, { topic }) => sum + 128 + topic.length * 2, 0);
      let full = 0;
      while (bytesOf(full + 1) <= 300_000 && full < max) full++;
      const maxBytes = shape === 'decisions' ? 2 ** 30 : bytesOf(full);
      const sizes = shape === 'decisions' ? [1_125, 1_500, max] : [Math.floor(full * 0.6), full];
      // Others first, so that the generations turn by size before and during the first pass, at
      // different points of it.
      for (const others of [0, 777, 3_333]) {
        for (const w of sizes) {
          // A millisecond a lookup: the generations age, though not past a quarter of the TTL.
          let clock = 0;
          const cache = new DecisionCache({ max, maxBytes, ttlMs: 600_000, now: () => clock++ });
          for (let i = 0; i < others; i++) cache.set(`other/${i}`, i % 5, deny);
          const set = checks(w);
          let misses = 0;
          for (const pass of [0, 1, 2, 3]) {
            for (const { topic, key } of set) {
              if (cache.get(topic, key) !== undefined) continue;
              if (pass > 0) misses++;
              cache.set(topic, key, allow);
            }
            expect(cache.size).toBeLessThanOrEqual(max);
            expect(cache.usage.bytes).toBeLessThanOrEqual(maxBytes);
          }
          expect(misses, `${w} of ${max} decisions, ${maxBytes} bytes, ${others} others`).toBe(0);
        }
      }
    });
  }

  it('holds max and maxBytes, the TTL and the last decision set, under any sequence of operations', () => {
    const TTL = 100;
    const topics = ['t', 'a/b', 'devices/dev1/telemetry', 'x'.repeat(60), 'y'.repeat(300)];
    const keys = [0, 1, 2, 3, 4, 2 ** 24 + 1]; // the last too large to pack
    const shared: Decision[] = [allow, deny];
    const pair = { topic: fc.constantFrom(...topics), key: fc.constantFrom(...keys) };
    const op = fc.oneof(
      {
        weight: 8,
        arbitrary: fc.record({
          kind: fc.constant('set' as const),
          ...pair,
          decision: fc.nat(3), // 0, 1 shared; 2, 3 a fresh object
        }),
      },
      { weight: 8, arbitrary: fc.record({ kind: fc.constant('get' as const), ...pair }) },
      {
        weight: 4,
        arbitrary: fc.record({
          kind: fc.constant('advance' as const),
          ms: fc.oneof(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 40 })),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('read' as const) }) }, // the clock catches up
      // Long enough for every generation to age out: then nothing is held, and nothing is counted.
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('idle' as const) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const) }) },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 200, max: 3_000 }),
        fc.integer({ min: 0, max: 25 }),
        fc.array(op, { maxLength: 400 }),
        (max, maxBytes, lagMs, ops) => {
          // A clock like the coarse one: its reading never ahead of the time, never more than lagMs behind.
          let time = 1_000;
          let reading = time;
          const clock: Clock = { now: () => reading, lagMs };
          const cache = new DecisionCache({ max, maxBytes, ttlMs: TTL, clock });
          // The model: the last decision set for each (topic, key) since the last clear, and when.
          const model = new Map<string, { decision: Decision; at: number }>();
          for (const o of ops) {
            if (o.kind === 'advance') {
              time += o.ms;
              reading = Math.max(reading, time - lagMs);
            } else if (o.kind === 'read') reading = time;
            else if (o.kind === 'idle') {
              time += 3 * TTL;
              reading = time;
              expect(cache.get('t', 0)).toBeUndefined();
              expect(cache.get('t', 0)).toBeUndefined(); // the first one turned the current generation
              expect(cache.usage).toEqual({ decisions: 0, topics: 0, bytes: 0 });
            } else if (o.kind === 'clear') {
              cache.clear();
              model.clear();
            } else if (o.kind === 'set') {
              const decision = shared[o.decision] ?? { allowed: o.decision === 2, reason: 'rule' };
              cache.set(o.topic, o.key, decision);
              model.set(`${o.topic} ${o.key}`, { decision, at: time });
              // What was just stored is there, unless its topic is too long to cache.
              if (128 + o.topic.length * 2 <= maxBytes / 2) expect(cache.get(o.topic, o.key)).toBe(decision);
            } else {
              const served = cache.get(o.topic, o.key);
              if (served !== undefined) {
                const last = model.get(`${o.topic} ${o.key}`);
                expect(served).toBe(last?.decision);
                expect(time - last!.at).toBeLessThanOrEqual(TTL);
              }
            }
            const { decisions, topics, bytes } = cache.usage;
            expect(decisions).toBe(cache.size);
            expect(decisions).toBeLessThanOrEqual(max);
            expect(bytes).toBeLessThanOrEqual(maxBytes);
            // The counts add up: a topic holds at least one decision and is counted at least its entry.
            expect(topics).toBeLessThanOrEqual(decisions);
            expect(bytes).toBeGreaterThanOrEqual(topics * 128);
            if (decisions === 0) expect([topics, bytes]).toEqual([0, 0]);
          }
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it('counts bytes exactly as decisions move out of a topic with several keys', () => {
    // max 12: a generation turns at 6 decisions, nothing is pushed out here.
    const cache = new DecisionCache({ max: 12, maxBytes: 2 ** 20, ttlMs: 60_000, now: () => 0 });
    const fan = 128 + 3 * 2; // 'fan': its entry; + 224 for a second key, + 64 for each further one
    for (let key = 0; key < 5; key++) cache.set('fan', key, allow);
    cache.set('solo', 0, allow);
    expect(cache.usage).toEqual({ decisions: 6, topics: 2, bytes: fan + 224 + 3 * 64 + 136 });
    cache.set('z', 0, allow); // a turn: 'fan' and 'solo' are in the previous generation
    const steps: [string, number, number, number][] = [
      // [topic, key, bytes, topics after the move]: out of the older entry, into the current generation's
      ['fan', 2, 816 - 64 + fan, 4], // a further key: 64 less there; a new entry here
      ['fan', 0, 886 + 224, 4], // the inline one: its slot stays there, empty; a second key here
      ['fan', 1, 1110, 4], // 64 less there, 64 more here
      ['fan', 3, 1110, 4],
      ['fan', 4, 1110 - fan - 224 + 64, 3], // the last one there: the whole entry goes
      ['solo', 0, 816, 3],
    ];
    expect(cache.usage.bytes).toBe(816);
    for (const [topic, key, bytes, topics] of steps) {
      expect(cache.get(topic, key)).toBe(allow);
      expect(cache.usage, `${topic} ${key}`).toEqual({ decisions: 7, topics, bytes });
    }
    // Everything is in the current generation now: as if stored there.
    expect(cache.usage.bytes).toBe(fan + 224 + 3 * 64 + 136 + 130);
  });

  it('serves the decision set last, also when an older one for the key sits in the oldest generation', () => {
    // max 6: a generation turns at 3 decisions.
    const cache = new DecisionCache({ max: 6, maxBytes: 2 ** 20, ttlMs: 60_000, now: () => 0 });
    for (const topic of ['b', 'c', 'a']) cache.set(topic, 1, allow);
    for (const topic of ['d', 'a', 'e']) cache.set(topic, 1, topic === 'a' ? deny : allow);
    cache.set('f', 1, allow); // a turn: [b, c, a] the oldest, [d, a, e] the previous; b is pushed out
    expect(cache.size).toBe(6);
    expect(cache.get('b', 1)).toBeUndefined();
    expect(cache.get('a', 1)).toBe(deny);
    expect(cache.get('c', 1)).toBe(allow);
  });

  it('drops the oldest generation a TTL after it began, though the current one is young', () => {
    let clock = 0;
    const cache = new DecisionCache({ max: 4, maxBytes: 2 ** 20, ttlMs: 100, now: () => clock });
    cache.set('a', 1, allow);
    cache.set('b', 1, allow); // full: born at 0
    clock = 40;
    cache.set('c', 1, allow); // a turn by size
    clock = 45;
    cache.set('d', 1, allow);
    clock = 60;
    cache.set('e', 1, allow); // a turn by size: [a, b] the oldest, a pushed out; the current one born at 60
    expect(cache.size).toBe(4);
    clock = 99;
    expect(cache.get('b', 1)).toBe(allow); // the oldest generation is older than a quarter TTL: not moved
    clock = 100;
    expect(cache.get('b', 1)).toBeUndefined();
    expect(cache.get('e', 1)).toBe(allow);
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
    const cache = new DecisionCache({ max: 10_000, maxBytes: 16 * 2 ** 20, ttlMs: 60_000, now: () => 0 });
    const padding = 'p'.repeat(64 * 1024);
    const kept = heapKeptBy(() => {
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
    });
    expect(kept).toBeLessThan(4 * 1024 * 1024);
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

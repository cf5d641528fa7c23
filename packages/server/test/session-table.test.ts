import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type SessionRemoval, SessionTable } from '../src/session-table.js';

function table(options: { maxBytes?: number; max?: number } = {}) {
  let time = 0;
  const removed: [string, string, SessionRemoval][] = [];
  const sessions = new SessionTable<string>({
    maxBytes: options.maxBytes ?? 1_000,
    ...(options.max === undefined ? {} : { max: options.max }),
    now: () => time,
    dispose: (value, key, reason) => removed.push([key, value, reason]),
  });
  return { sessions, removed, advance: (ms: number) => (time += ms) };
}

describe('SessionTable', () => {
  it('forgets an entry ttl after its last use (sliding, exact at the bound); peek neither slides nor removes', () => {
    const { sessions, removed, advance } = table();
    sessions.set('a', 'A', 10, 1_000);
    sessions.set('b', 'B', 10, 1_000);
    advance(1_000);
    expect(sessions.get('a')).toBe('A'); // 1,000 ms unused: not yet past
    expect(sessions.peek('b')).toBe('B');
    advance(1_000);
    expect(sessions.peek('b')).toBeUndefined(); // 2,000 ms since b's last use
    expect(sessions.size).toBe(2);
    expect(sessions.get('a')).toBe('A');
    advance(1_001);
    expect(sessions.get('a')).toBeUndefined();
    expect(sessions.get('b')).toBeUndefined();
    expect(removed).toEqual([
      ['a', 'A', 'expire'],
      ['b', 'B', 'expire'],
    ]);
    expect({ size: sessions.size, bytes: sessions.bytes }).toEqual({ size: 0, bytes: 0 });
  });

  it('stays within maxBytes and max, evicting the least recently used first', () => {
    const { sessions, removed, advance } = table({ maxBytes: 30, max: 3 });
    for (const key of ['a', 'b', 'c']) sessions.set(key, key.toUpperCase(), 10, 60_000);
    advance(10_000);
    expect(sessions.get('a')).toBe('A'); // used: now the newest
    sessions.set('d', 'D', 10, 60_000);
    expect(removed).toEqual([['b', 'B', 'evict']]);
    sessions.set('e', 'E', 20, 60_000); // 20 bytes more: two go
    expect(removed.slice(1)).toEqual([
      ['c', 'C', 'evict'],
      ['a', 'A', 'evict'],
    ]);
    expect({ size: sessions.size, bytes: sessions.bytes }).toEqual({ size: 2, bytes: 30 });
    const counted = table({ maxBytes: 1_000, max: 2 });
    for (const key of ['a', 'b', 'c']) counted.sessions.set(key, key, 1, 60_000);
    expect(counted.removed).toEqual([['a', 'a', 'evict']]);
  });

  it('replaces a key (the old value disposed as set); refuses a value over maxBytes and deletes what the key held', () => {
    const { sessions, removed } = table({ maxBytes: 100 });
    sessions.set('a', 'A1', 40, 1_000);
    sessions.set('a', 'A2', 60, 1_000);
    expect(removed).toEqual([['a', 'A1', 'set']]);
    expect({ size: sessions.size, bytes: sessions.bytes }).toEqual({ size: 1, bytes: 60 });
    expect(sessions.set('a', 'A3', 101, 1_000)).toBe(false);
    expect(removed.at(-1)).toEqual(['a', 'A2', 'delete']);
    expect(sessions.get('a')).toBeUndefined();
    expect({ size: sessions.size, bytes: sessions.bytes }).toEqual({ size: 0, bytes: 0 });
  });

  it('clear and delete dispose what they remove', () => {
    const { sessions, removed } = table();
    sessions.set('a', 'A', 1, 1_000);
    sessions.set('b', 'B', 1, 1_000);
    expect(sessions.delete('a')).toBe(true);
    expect(sessions.delete('a')).toBe(false);
    sessions.clear();
    expect(removed).toEqual([
      ['a', 'A', 'delete'],
      ['b', 'B', 'delete'],
    ]);
    expect({ size: sessions.size, bytes: sessions.bytes }).toEqual({ size: 0, bytes: 0 });
  });

  it('behaves as a model of exact sliding TTLs and least-recently-used eviction (moves at most every 10 s)', () => {
    const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h');
    const op = fc.oneof(
      fc.record({
        op: fc.constant('set' as const),
        key,
        size: fc.integer({ min: 1, max: 60 }),
        ttl: fc.integer({ min: 1, max: 40_000 }),
      }),
      fc.record({ op: fc.constantFrom('get' as const, 'peek' as const, 'delete' as const), key }),
      fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 15_000 }) }),
      fc.record({ op: fc.constant('clear' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), fc.integer({ min: 1, max: 6 }), (ops, max) => {
        const maxBytes = 150;
        const { sessions, removed, advance } = table({ maxBytes, max });
        let now = 0;
        let version = 0;
        // The model: entries in order of placement (oldest first), each with its value and times.
        const model = new Map<
          string,
          { value: string; size: number; ttl: number; expires: number; placed: number }
        >();
        const bytes = () => [...model.values()].reduce((sum, e) => sum + e.size, 0);
        for (const step of ops) {
          const before = removed.length;
          if (step.op === 'advance') {
            now = advance(step.ms);
          } else if (step.op === 'set') {
            const value = `${step.key}${++version}`;
            const old = model.get(step.key);
            model.delete(step.key);
            sessions.set(step.key, value, step.size, step.ttl);
            const expected: [string, string, SessionRemoval][] = old ? [[step.key, old.value, 'set']] : [];
            model.set(step.key, {
              value,
              size: step.size,
              ttl: step.ttl,
              expires: now + step.ttl,
              placed: now,
            });
            while (bytes() > maxBytes || model.size > max) {
              const [oldest, entry] = model.entries().next().value as [string, { value: string }];
              model.delete(oldest);
              expected.push([oldest, entry.value, 'evict']);
            }
            expect(removed.slice(before)).toEqual(expected);
          } else if (step.op === 'get' || step.op === 'peek') {
            const entry = model.get(step.key);
            const live = entry !== undefined && now <= entry.expires;
            expect(sessions[step.op](step.key)).toBe(live ? entry.value : undefined);
            if (step.op === 'get' && entry !== undefined) {
              if (!live) {
                model.delete(step.key);
                expect(removed.slice(before)).toEqual([[step.key, entry.value, 'expire']]);
              } else {
                entry.expires = now + entry.ttl;
                if (now - entry.placed >= 10_000) {
                  entry.placed = now;
                  model.delete(step.key);
                  model.set(step.key, entry);
                }
              }
            }
          } else if (step.op === 'delete') {
            const entry = model.get(step.key);
            expect(sessions.delete(step.key)).toBe(entry !== undefined);
            model.delete(step.key);
            expect(removed.slice(before)).toEqual(entry ? [[step.key, entry.value, 'delete']] : []);
          } else {
            const expected = [...model].map(([k, e]) => [k, e.value, 'delete']);
            model.clear();
            sessions.clear();
            expect(removed.slice(before)).toEqual(expected);
          }
          expect(sessions.bytes).toBe(bytes());
          expect(sessions.size).toBe(model.size);
          expect(sessions.bytes).toBeLessThanOrEqual(maxBytes);
        }
      }),
      { numRuns: 2_000 },
    );
  });
});

import { describe, expect, it } from 'vitest';
import { DecisionCache } from '../src/decision-cache.js';
import type { Decision } from '../src/types.js';

const allow: Decision = { allowed: true, reason: 'rule' };

describe('DecisionCache', () => {
  it('never serves a decision more than ttlMs after it was stored, whatever the access pattern', () => {
    let clock = 1_000;
    const ttlMs = 100;
    const cache = new DecisionCache({ max: 1_000, ttlMs, now: () => clock });
    const storedAt = new Map<number, number>();
    let served = 0;
    // Steps of 1–29 ms with lookups of old and new keys, so that entries sit in both generations.
    for (let step = 0; step < 2_000; step++) {
      clock += 1 + ((step * 7) % 29);
      const key = step % 5;
      const found = cache.get(key);
      if (found) {
        served++;
        expect(clock - storedAt.get(key)!).toBeLessThanOrEqual(ttlMs);
      } else {
        cache.set(key, allow);
        storedAt.set(key, clock);
      }
    }
    expect(served).toBeGreaterThan(100);
  });

  it('keeps at most max entries and forgets the oldest generation first', () => {
    const cache = new DecisionCache({ max: 4, ttlMs: 60_000, now: () => 0 });
    for (let key = 0; key < 10; key++) cache.set(key, allow);
    expect(cache.size).toBeLessThanOrEqual(4);
    expect(cache.get(9)).toBe(allow);
    expect(cache.get(0)).toBeUndefined();
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.get(9)).toBeUndefined();
  });
});

import { describe, expect, it, vi } from 'vitest';
import { DecisionKeys } from '../src/decision-keys.js';
import type { AccessRequest, Principal } from '../src/types.js';

const principal = (id: string, extra: Partial<Principal> = {}): Principal => ({
  id,
  clientId: id,
  method: 'test',
  roles: [],
  attributes: {},
  ...extra,
});
const req = (topic: string, extra: Partial<AccessRequest> = {}): AccessRequest => ({
  action: 'publish',
  topic,
  ...extra,
});

describe('DecisionKeys', () => {
  it('gives every distinct (principal, action, topic, qos, retain, share group) its own key', () => {
    const keys = new DecisionKeys(100, () => {});
    const a = principal('a');
    const seen = new Set<number>();
    const requests: AccessRequest[] = [
      req('x'),
      req('x', { qos: 0 }),
      req('x', { qos: 1 }),
      req('x', { qos: 2 }),
      req('x', { retain: true }),
      req('x', { action: 'subscribe' }),
      req('x', { action: 'receive' }),
      req('y'),
      req('a', { shareGroup: 'g' }),
      req('1:g/a'), // what the share group and topic are combined into, as a plain topic
      req('a', { shareGroup: '' }),
      req('x', { action: 'subscribe', deliveryChecked: true }),
    ];
    for (const r of requests) seen.add(keys.key(a, r));
    for (const r of requests) seen.add(keys.key(principal('b'), r));
    expect(seen.size).toBe(requests.length * 2);
  });

  it('shares a key between equal principals and separates different ones', () => {
    const keys = new DecisionKeys(100, () => {});
    expect(keys.key(principal('a'), req('x'))).toBe(keys.key(principal('a'), req('x')));
    expect(keys.key(principal('a', { roles: ['r'] }), req('x'))).not.toBe(keys.key(principal('a'), req('x')));
    expect(keys.key(principal('a', { attributes: { s: '1' } }), req('x'))).not.toBe(
      keys.key(principal('a', { attributes: { s: '2' } }), req('x')),
    );
  });

  it('starts afresh, and says so, when its principal or topic numbers run out', () => {
    const onReset = vi.fn();
    const keys = new DecisionKeys(100, onReset, { principals: 2, topics: 1_000 });
    keys.key(principal('a'), req('x'));
    keys.key(principal('b'), req('x'));
    expect(onReset).not.toHaveBeenCalled();
    keys.key(principal('c'), req('x'));
    expect(onReset).toHaveBeenCalledOnce();
    const topics = new DecisionKeys(100, onReset, { principals: 1_000, topics: 2 });
    topics.key(principal('a'), req('x'));
    topics.key(principal('a'), req('y'));
    topics.key(principal('a'), req('z'));
    expect(onReset).toHaveBeenCalledTimes(2);
  });

  it('keys stay exact integers at the packing limits', () => {
    const keys = new DecisionKeys(10, () => {});
    const k = keys.key(principal('a'), req('x', { action: 'receive', retain: true, shareGroup: 'g' }));
    expect(Number.isSafeInteger(k)).toBe(true);
    expect(Number.isSafeInteger((2 ** 20 - 1) * 2 ** 26 * 128 + (2 ** 26 - 1) * 128 + 127)).toBe(true);
  });
});

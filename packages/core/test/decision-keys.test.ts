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
const limits = (entries: number) => ({ entries, bytes: 2 ** 20, topicLength: 1024 });
const req = (topic: string, extra: Partial<AccessRequest> = {}): AccessRequest => ({
  action: 'publish',
  topic,
  ...extra,
});

describe('DecisionKeys', () => {
  it('gives every distinct (principal, action, topic, qos, retain, share group) its own key', () => {
    const keys = new DecisionKeys(limits(100), () => {});
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
    for (const r of requests) seen.add(keys.key(a, r) as number);
    for (const r of requests) seen.add(keys.key(principal('b'), r) as number);
    expect(seen.size).toBe(requests.length * 2);
  });

  it('shares a key between equal principals and separates different ones', () => {
    const keys = new DecisionKeys(limits(100), () => {});
    expect(keys.key(principal('a'), req('x'))).toBe(keys.key(principal('a'), req('x')));
    expect(keys.key(principal('a', { roles: ['r'] }), req('x'))).not.toBe(keys.key(principal('a'), req('x')));
    expect(keys.key(principal('a', { attributes: { s: '1' } }), req('x'))).not.toBe(
      keys.key(principal('a', { attributes: { s: '2' } }), req('x')),
    );
  });

  it('starts afresh, and says so, when its principal or topic numbers run out', () => {
    const onReset = vi.fn();
    const keys = new DecisionKeys(limits(100), onReset, { principals: 2, topics: 1_000 });
    keys.key(principal('a'), req('x'));
    keys.key(principal('b'), req('x'));
    expect(onReset).not.toHaveBeenCalled();
    keys.key(principal('c'), req('x'));
    expect(onReset).toHaveBeenCalledOnce();
    const topics = new DecisionKeys(limits(100), onReset, { principals: 1_000, topics: 2 });
    topics.key(principal('a'), req('x'));
    topics.key(principal('a'), req('y'));
    topics.key(principal('a'), req('z'));
    expect(onReset).toHaveBeenCalledTimes(2);
  });

  it('keys stay exact integers at the packing limits', () => {
    const keys = new DecisionKeys(limits(10), () => {});
    const k = keys.key(principal('a'), req('x', { action: 'receive', retain: true, shareGroup: 'g' }));
    expect(Number.isSafeInteger(k)).toBe(true);
    expect(Number.isSafeInteger((2 ** 20 - 1) * 2 ** 26 * 128 + (2 ** 26 - 1) * 128 + 127)).toBe(true);
  });

  it('keeps at most its byte bound of topic strings, however long the topics', () => {
    const keys = new DecisionKeys({ entries: 100_000, bytes: 64 * 1024, topicLength: 20_000 }, () => {});
    const a = principal('a');
    const long = 'x'.repeat(15_000);
    for (let i = 0; i < 100; i++) keys.key(a, req(`${i}/${long}`));
    expect(keys.topicUsage.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(keys.topicUsage.entries).toBeLessThanOrEqual(2);
    // Short topics still get numbers that are reused while they stay in the table.
    const k = keys.key(a, req('short'));
    expect(keys.key(a, req('short'))).toBe(k);
  });

  it('gives no key to a topic (share group included) over the length bound', () => {
    const keys = new DecisionKeys({ entries: 100, bytes: 2 ** 20, topicLength: 10 }, () => {});
    expect(keys.key(principal('a'), req('0123456789'))).toBeTypeOf('number');
    expect(keys.key(principal('a'), req('0123456789a'))).toBeUndefined();
    expect(keys.key(principal('a'), req('0123456', { shareGroup: 'g' }))).toBeUndefined();
    expect(keys.topicUsage.entries).toBe(1);
  });

  it('does not keep principal contents over its byte bound, and still keys them apart', () => {
    const keys = new DecisionKeys({ entries: 100, bytes: 4096, topicLength: 100 }, () => {});
    const big = (id: string) => principal(id, { attributes: { blob: 'y'.repeat(5000) } });
    const p1 = big('p1');
    const k1 = keys.key(p1, req('x'));
    expect(keys.key(p1, req('x'))).toBe(k1); // the object keeps its number
    expect(keys.key(big('p2'), req('x'))).not.toBe(k1);
  });
});

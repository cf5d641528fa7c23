import { describe, expect, it, vi } from 'vitest';
import { cacheTopic, DecisionKeys } from '../src/decision-keys.js';
import type { AccessRequest, Principal } from '../src/types.js';

const principal = (id: string, extra: Partial<Principal> = {}): Principal => ({
  id,
  clientId: id,
  method: 'test',
  roles: [],
  attributes: {},
  ...extra,
});
const limits = (entries: number) => ({ entries, bytes: 2 ** 20 });
const req = (topic: string, extra: Partial<AccessRequest> = {}): AccessRequest => ({
  action: 'publish',
  topic,
  ...extra,
});

describe('DecisionKeys', () => {
  it('gives every distinct (principal, action, topic, qos, retain, share group) its own topic and key', () => {
    const keys = new DecisionKeys(limits(100), () => {});
    const seen = new Set<string>();
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
    for (const p of [principal('a'), principal('b')]) {
      for (const r of requests) seen.add(`${cacheTopic(r, 1024)}\n${keys.key(p, r)}`);
    }
    expect(seen.size).toBe(requests.length * 2);
  });

  it('cannot be made to collide by separators in the topic, share group, client id or username', () => {
    // The client chooses all of these; a collision would let one request reuse another's decision.
    const parts = ['', 'a', '/', '1:', '1:a/', '0:', ':', '"', '","', '\\', '[', ']', ',', 'null', '#', '+'];
    const keys = new DecisionKeys(limits(100_000), () => {});
    const p = principal('p');
    // A decision is cached under its topic string and its key: the pair must tell requests apart.
    const requests = new Map<string, string>();
    for (const group of [undefined, ...parts]) {
      for (const a of parts) {
        for (const b of parts) {
          const topic = `${a}${b}`;
          const id = JSON.stringify([group ?? null, topic]);
          const r = req(topic, { shareGroup: group });
          const where = `${cacheTopic(r, 1024)}\n${keys.key(p, r)}`;
          expect(requests.get(where) ?? id).toBe(id);
          requests.set(where, id);
        }
      }
    }
    const numbers = new Map<number, string>();
    for (const id of parts) {
      for (const clientId of parts) {
        for (const username of [undefined, ...parts]) {
          const who = JSON.stringify([id, clientId, username ?? null]);
          const k = keys.key(principal(id, { clientId, username }), req('t'));
          expect(numbers.get(k) ?? who).toBe(who);
          numbers.set(k, who);
        }
      }
    }
    expect(numbers.size).toBe(parts.length * parts.length * (parts.length + 1));
  });

  it('shares a key between equal principals and separates different ones', () => {
    const keys = new DecisionKeys(limits(100), () => {});
    expect(keys.key(principal('a'), req('x'))).toBe(keys.key(principal('a'), req('x')));
    expect(keys.key(principal('a', { roles: ['r'] }), req('x'))).not.toBe(keys.key(principal('a'), req('x')));
    expect(keys.key(principal('a', { attributes: { s: '1' } }), req('x'))).not.toBe(
      keys.key(principal('a', { attributes: { s: '2' } }), req('x')),
    );
  });

  it('starts afresh, and says so, when its principal numbers run out', () => {
    const onReset = vi.fn();
    const keys = new DecisionKeys(limits(100), onReset, 2);
    keys.key(principal('a'), req('x'));
    keys.key(principal('b'), req('x'));
    expect(onReset).not.toHaveBeenCalled();
    keys.key(principal('c'), req('x'));
    expect(onReset).toHaveBeenCalledOnce();
  });

  it('keys stay small integers (unboxed in V8) up to the packing limit', () => {
    const keys = new DecisionKeys(limits(10), () => {});
    const k = keys.key(principal('a'), req('x', { action: 'receive', retain: true, shareGroup: 'g' }));
    expect(Number.isSafeInteger(k)).toBe(true);
    expect((2 ** 23 - 1) * 128 + 127).toBeLessThan(2 ** 30);
  });

  it('gives no key (-1: decide without the cache) to an action or QoS outside the protocol', () => {
    // Were they keyed, a publish at QoS 4 would take the slot of a subscribe at QoS 0, and share its decision.
    const keys = new DecisionKeys(limits(10), () => {});
    const p = principal('a');
    const odd = [
      { qos: 4 },
      { qos: 3 },
      { qos: -1 },
      { qos: 0.5 },
      { qos: '1' },
      { action: 'write' },
      { action: 'constructor' },
    ] as unknown as Partial<AccessRequest>[];
    for (const extra of odd) expect(keys.key(p, req('x', extra)), JSON.stringify(extra)).toBe(-1);
    for (const qos of [undefined, 0, 1, 2] as const) {
      for (const action of ['publish', 'subscribe', 'receive'] as const)
        expect(keys.key(p, req('x', { action, qos }))).toBeGreaterThanOrEqual(0);
    }
  });

  it('gives no cache topic to a topic (share group included) over the length bound', () => {
    expect(cacheTopic(req('0123456789'), 10)).toBe('0123456789');
    expect(cacheTopic(req('0123456789a'), 10)).toBeUndefined();
    expect(cacheTopic(req('0123456', { shareGroup: 'g' }), 10)).toBeUndefined();
  });

  it('does not keep principal contents over its byte bound, and still keys them apart', () => {
    const keys = new DecisionKeys({ entries: 100, bytes: 4096 }, () => {});
    const big = (id: string) => principal(id, { attributes: { blob: 'y'.repeat(5000) } });
    const p1 = big('p1');
    const k1 = keys.key(p1, req('x'));
    expect(keys.key(p1, req('x'))).toBe(k1); // the object keeps its number
    expect(keys.key(big('p2'), req('x'))).not.toBe(k1);
  });
});

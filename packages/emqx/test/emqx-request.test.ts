import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitJsonRequest, splitRequest } from '../src/emqx-request.js';

// Keys EMQX templates use, client attribute keys (valid, invalid, look-alikes) and whatever else.
const key = fc.oneof(
  fc.constantFrom(
    'username',
    'clientid',
    'topic',
    'action',
    'client_attrs.site',
    'client_attrs.a-b_c',
    'client_attrs.',
    'client_attrs._x',
    'client_attrsX',
    'Client_attrs.site',
    'constructor',
    'toString',
    '1',
  ),
  fc.string({ maxLength: 16 }),
);
const value = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null), fc.boolean());
// As JSON.parse builds it: own data properties on a plain object, in JSON's key order. Without an own
// `__proto__` (fast-check generates that key now and then): both the lean path and Fastify parse with
// secure-json-parse set to refuse it, so no such body reaches a split (malformed-bodies.ts).
const body = fc
  .dictionary(key, value)
  .filter((o) => !Object.hasOwn(o, '__proto__'))
  .map((o) => JSON.parse(JSON.stringify(o)) as unknown);

describe('splitJsonRequest', () => {
  it('splits a JSON body exactly as splitRequest does without renames', () => {
    fc.assert(
      fc.property(fc.oneof(body, value, fc.array(value)), (input) => {
        const fast = splitJsonRequest(input);
        const slow = splitRequest(input, {});
        if (typeof slow === 'string') {
          expect(fast).toBe(slow);
          return;
        }
        if (typeof fast === 'string') throw new Error(`refused what splitRequest took: ${fast}`);
        expect({ ...fast.fields }).toStrictEqual(slow.fields);
        expect(Object.keys(fast.fields)).toEqual(Object.keys(slow.fields));
        expect(fast.clientAttrs).toStrictEqual(slow.clientAttrs);
        for (const name of Object.keys(slow.keys)) expect(fast.keys[name] ?? name).toBe(slow.keys[name]);
      }),
      { numRuns: 2000 },
    );
  });

  it('sets client attributes apart and never leaves one among the fields', () => {
    const split = splitJsonRequest({ username: 'u', 'client_attrs.site': 's1', 'client_attrs.': 'x' });
    expect(split).toMatchObject({ clientAttrs: { site: 's1' } });
    expect(typeof split !== 'string' && 'client_attrs.site' in split.fields).toBe(false);
  });
});

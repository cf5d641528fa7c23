import { isDeepStrictEqual } from 'node:util';
import { PlainFormKeys, plainFormKeys, readPlainJson } from '@mqtt-warden/core';
import fc from 'fast-check';
import secureJsonParse from 'secure-json-parse';
import { describe, expect, it } from 'vitest';
import { heapKeptBy } from './heap-kept.js';

// readPlainJson is a shortcut past secureJsonParse for the JSON bodies brokers send: whatever it reads
// must be exactly what the server's general path reads (same keys in the same order, same values, a
// plain object), and it must read the usual broker bodies (or it is no shortcut).

const OPTIONS = { protoAction: 'error', constructorAction: 'error' } as const;
const general = (body: Buffer): unknown => secureJsonParse(body.toString('utf8'), OPTIONS);

const KEYS = ['username', 'clientid', 'topic', 'action', 'qos', 'retain', 'acc', 'password', 'constructor'];
const keys = plainFormKeys(KEYS);

/** The same value, key order and prototype as the general path's, or throws. */
function expectSame(plain: Record<string, unknown>, body: Buffer): void {
  const parsed = general(body);
  expect(isDeepStrictEqual(plain, parsed)).toBe(true);
  expect(Object.keys(plain)).toEqual(Object.keys(parsed as object));
  expect(Object.getPrototypeOf(plain)).toBe(Object.prototype);
  for (const key of Object.keys(plain))
    expect(Object.is(plain[key], (parsed as Record<string, unknown>)[key])).toBe(true);
}

const ws = fc.constantFrom('', ' ', '\t', '\n', '\r\n', '  \t ');
/** Keys the shortcut may take: known, written plainly. */
const plainKey = fc.constantFrom(...KEYS);
/** Values the shortcut may take. */
const plainValue = fc.oneof(
  fc.constantFrom('"u1"', '"devices/u1/t/3"', '""', '" ~!#$%&\'()*+,-./:;<=>?@[]^_`{|}"', '"publish"', '"1"'),
  fc.stringMatching(/^[\x20-\x21\x23-\x5b\x5d-\x7e]{0,12}$/).map((s) => `"${s}"`),
  fc.constantFrom('0', '-0', '2', '-17', '123456789012345', '-999999999999999', 'true', 'false', 'null'),
  fc.integer({ min: -(10 ** 15) + 1, max: 10 ** 15 - 1 }).map(String),
);
/** Keys it must leave to the general path (or that never match). */
const otherKey = fc.constantFrom(
  'other',
  '__proto__',
  '\\u005f_proto__',
  'Username',
  'topi',
  'topicc',
  'user\\u006eame',
  'top\\/ic',
  'client_attrs.a',
  '',
  '\u00e9',
  'usernam\u0000',
);
/** Values it must leave to the general path. */
const otherValue = fc.oneof(
  fc.constantFrom(
    '"a\\/b"',
    '"\\u0041"',
    '"\\""',
    '"\\\\"',
    '"\u00e9"',
    '"\u2028"',
    '"\ud800"',
    '"\t"',
    '"\u007f"',
    '"a',
    '{}',
    '{"prototype":{}}',
    '[]',
    '[1,"a"]',
    '{"a":1}',
    '1.5',
    '1e3',
    '1E+3',
    '-',
    '01',
    '-01',
    '00',
    '+1',
    '.5',
    '1.',
    '1234567890123456',
    '99999999999999999999',
    '-1234567890123456',
    'tru',
    'truee',
    'True',
    'nul',
    'NaN',
    'undefined',
    "'a'",
  ),
  fc.string({ maxLength: 4 }),
);
const otherWs = fc.constantFrom('\v', '\f', '\u00a0', '\ufeff', '\u2028', '\u0000');

/** A `"key": value` member, plain or not; `plain` says which. */
const member = fc
  .tuple(
    fc.oneof(
      { weight: 9, arbitrary: plainKey.map((k) => [`"${k}"`, true] as const) },
      { weight: 1, arbitrary: otherKey.map((k) => [`"${k}"`, false] as const) },
    ),
    fc.oneof(
      { weight: 9, arbitrary: plainValue.map((v) => [v, true] as const) },
      { weight: 1, arbitrary: otherValue.map((v) => [v, false] as const) },
    ),
    fc.oneof(
      { weight: 9, arbitrary: ws.map((w) => [w, true] as const) },
      { weight: 1, arbitrary: otherWs.map((w) => [w, false] as const) },
    ),
    ws,
  )
  .map(([[k, pk], [v, pv], [w, pw], w2]) => ({
    text: `${w}${k}${w2}:${w}${v}${w2}`,
    plain: pk && pv && pw,
    key: k,
  }));

/** A body of members (text) and whether every piece of it is plain, before it is maybe spoiled. */
const bodies = fc
  .tuple(
    fc.array(member, { maxLength: 7 }),
    ws,
    ws,
    // Spoilers: 0 none, else truncation, trailing bytes, a trailing comma, a BOM, random or invalid UTF-8 bytes.
    fc.nat(12),
    fc.nat(200),
    fc.constantFrom('x', '}', ',', '{}', '\u0000', '\u00a0', ' ', '\n'),
    fc.uint8Array({ maxLength: 20 }),
  )
  .map(([members, lead, tail, spoil, cut, trailing, bytes]) => {
    const distinct = new Set(members.map((m) => m.key)).size === members.length;
    const text = `${lead}{${members.map((m) => m.text).join(',')}}${tail}`;
    const plain = distinct && members.every((m) => m.plain);
    switch (spoil) {
      case 1:
        return { body: Buffer.from(text.slice(0, cut % (text.length + 1)), 'utf8'), plain: false };
      case 2:
        return { body: Buffer.from(text + trailing, 'utf8'), plain: false };
      case 3:
        return { body: Buffer.from(text.replace(/\}(\s*)$/, ',}$1'), 'utf8'), plain: false };
      case 4:
        return { body: Buffer.from(`\ufeff${text}`, 'utf8'), plain: false };
      case 5:
        return { body: Buffer.from(bytes), plain: false };
      case 6: {
        // An invalid UTF-8 byte somewhere.
        const raw = Buffer.from(text, 'utf8');
        const at = cut % (raw.length + 1);
        return {
          body: Buffer.concat([raw.subarray(0, at), Buffer.from([0xff]), raw.subarray(at)]),
          plain: false,
        };
      }
      default:
        return { body: Buffer.from(text, 'utf8'), plain };
    }
  });

describe('readPlainJson', () => {
  it('reads exactly what secureJsonParse reads, or leaves the body to it; every plain body is read', () => {
    let read = 0;
    let plainBodies = 0;
    fc.assert(
      fc.property(bodies, ({ body, plain }) => {
        const value = readPlainJson(body, keys);
        if (plain) {
          plainBodies++;
          expect(value, body.toString('latin1')).toBeDefined();
        }
        if (value === undefined) return;
        read++;
        expectSame(value, body);
      }),
      { numRuns: 20_000 },
    );
    // Not vacuous: many generated bodies were read here, and many were left to the general path.
    expect(plainBodies).toBeGreaterThan(2000);
    expect(read).toBeGreaterThan(plainBodies);
    expect(read).toBeLessThan(20_000 - 2000);
  });

  it('reads the bodies EMQX and go-auth send', () => {
    const emqx = Buffer.from(
      '{"username":"u123","clientid":"u123","topic":"devices/u123/t/3","action":"publish","qos":"1","retain":"false"}',
    );
    const authz = readPlainJson(emqx, keys);
    expect(authz).toEqual({
      username: 'u123',
      clientid: 'u123',
      topic: 'devices/u123/t/3',
      action: 'publish',
      qos: '1',
      retain: 'false',
    });
    expectSame(authz as Record<string, unknown>, emqx);
    // go-auth sends acc as a number.
    const acl = Buffer.from('{"acc":2,"clientid":"u123","topic":"devices/u123/t/3","username":"u123"}');
    const read = readPlainJson(acl, keys);
    expect(read).toEqual({ acc: 2, clientid: 'u123', topic: 'devices/u123/t/3', username: 'u123' });
    expectSame(read as Record<string, unknown>, acl);
    // Pretty-printed, with every kind of JSON whitespace.
    const pretty = Buffer.from('\r\n {\n\t"username" : "u1" ,\r\n\t"password":"p w",\n "acc": -0 } \n');
    const value = readPlainJson(pretty, keys);
    expect(value).toEqual({ username: 'u1', password: 'p w', acc: -0 });
    expect(Object.is(value?.acc, -0)).toBe(true);
    expectSame(value as Record<string, unknown>, pretty);
    for (const text of [
      '{}',
      '{"qos":null,"retain":true,"action":false}',
      '{"acc":123456789012345}',
      '{"acc":-0}',
    ]) {
      const body = Buffer.from(text);
      const plain = readPlainJson(body, keys);
      expect(plain, text).toBeDefined();
      expectSame(plain as Record<string, unknown>, body);
    }
  });

  it('leaves every other body to the general path', () => {
    const refused = [
      '',
      ' ',
      '{',
      '}',
      '[]',
      'null',
      '"a"',
      '1',
      '{"other":"x"}',
      '{"username":"a","username":"b"}',
      '{"__proto__":{}}',
      '{"\\u005f_proto__":{}}',
      '{"user\\u006eame":"a"}',
      '{"topic":"a\\/b"}',
      '{"topic":"\\u0041"}',
      '{"topic":"\u00e9"}',
      '{"topic":"\u007f"}',
      '{"topic":"a\tb"}',
      '{"topic":{"a":1}}',
      '{"topic":[1]}',
      '{"acc":1.5}',
      '{"acc":1e3}',
      '{"acc":01}',
      '{"acc":-}',
      '{"acc":+1}',
      '{"acc":1234567890123456}',
      '{"acc":tru}',
      '{"acc":truex}',
      '{"acc":NaN}',
      '\ufeff{"acc":1}',
      '{"acc":1}x',
      '{"acc":1}{}',
      '{"acc":1,}',
      '{,"acc":1}',
      '{"acc" 1}',
      '{"acc":1\v}',
      '\u00a0{"acc":1}',
      '{"acc":1',
      '{"acc":"1',
      '{"acc',
      '{"constructor":{"prototype":{}}}',
    ];
    for (const text of refused)
      expect(readPlainJson(Buffer.from(text, 'utf8'), keys), JSON.stringify(text)).toBeUndefined();
    // Invalid UTF-8 and a lone surrogate's bytes.
    expect(
      readPlainJson(Buffer.from([0x7b, 0x22, 0x61, 0x63, 0x63, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), keys),
    ).toBeUndefined();
    expect(readPlainJson(Buffer.from('{"topic":"\ud800"}', 'utf8'), keys)).toBeUndefined();
  });

  it('reads every key set and order, one body after another (each position has its own store)', () => {
    // Bodies of up to every key (past the eighth position's own store), in changing orders, read in
    // turn: whatever shapes the stores saw before, each body reads to exactly what the general path reads.
    const plainBody = fc
      .tuple(fc.shuffledSubarray(KEYS, { minLength: 1 }), fc.infiniteStream(plainValue), ws)
      .map(([names, values, w]) => {
        const taken = values.take(names.length);
        return Buffer.from(
          `{${names.map((name) => `${w}"${name}"${w}:${w}${taken.next().value}`).join(',')}}`,
        );
      });
    fc.assert(
      fc.property(fc.array(plainBody, { minLength: 1, maxLength: 20 }), (batch) => {
        for (const body of batch) {
          const value = readPlainJson(body, keys);
          expect(value, body.toString('latin1')).toBeDefined();
          expectSame(value as Record<string, unknown>, body);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps no part of the body alive through the values it reads, as JSON.parse does not', () => {
    // Values are kept (a topic by the decision cache, a login's username and client id by the session
    // table): a slice of the body would keep all of it, e.g. the password, or a long client id in every
    // cached topic. 400 bodies with 64 KiB in another key keep ~25 MiB if the values held them.
    const padding = 'p'.repeat(64 * 1024);
    const kept: unknown[] = [];
    const bytes = heapKeptBy(() => {
      for (let i = 0; i < 400; i++) {
        const body = Buffer.from(
          `{"username":"user-name-${i}-long","clientid":"c${String(i).padStart(12, '0')}","password":"${padding}${i}","topic":"devices/u${i}/t/1","qos":"1"}`,
        );
        const value = readPlainJson(body, keys);
        expect(value?.topic).toBe(`devices/u${i}/t/1`);
        // The client id has 13 chars, the shortest V8 would cut as a slice.
        expect(value?.clientid).toHaveLength(13);
        kept.push(value?.username, value?.clientid, value?.topic, value?.qos);
      }
    });
    expect(bytes).toBeLessThan(4 * 1024 * 1024);
    expect(kept).toHaveLength(1600);
  });

  it('builds a plain object with the names of the key set', () => {
    const value = readPlainJson(Buffer.from('{"topic":"t","constructor":"c"}'), keys) as Record<
      string,
      unknown
    >;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.getOwnPropertyNames(value)).toEqual(['topic', 'constructor']);
    expect(value).toEqual(general(Buffer.from('{"topic":"t","constructor":"c"}')));
  });

  it('never matches a key name JSON would read as an escape or a string end', () => {
    // Names a form may have: in JSON `\b` is an escape and `"` ends the key.
    const odd = plainFormKeys(['a\\b', 'a"b']);
    for (const text of ['{"a\\b":1}', '{"a"b":1}', '{"a\\"b":1}']) {
      expect(readPlainJson(Buffer.from(text), odd), text).toBeUndefined();
    }
  });

  it('refuses __proto__ as a key name', () => {
    expect(() => new PlainFormKeys(['username', '__proto__'])).toThrow(RangeError);
  });
});

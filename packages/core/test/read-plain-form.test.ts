import {
  PlainFormKeys,
  plainFormKeys,
  readPlainForm,
  readPlainFormValues,
  UrlEncodedForm,
} from '@mqtt-warden/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { heapKeptBy } from './heap-kept.js';

// readPlainForm is a shortcut past UrlEncodedForm for the forms brokers send: whatever it reads must be
// exactly what UrlEncodedForm reads (same fields, same values, nothing undecodable), and it must read
// the usual broker bodies (or it is no shortcut).

const KEYS = ['username', 'vhost', 'routing_key', 'variable_map.client_id', 'password', 'acc'];
const keys = plainFormKeys(KEYS);

/** Keys: the known ones mostly, then escaped, unknown and prototype ones. */
const key = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...KEYS) },
  { weight: 1, arbitrary: fc.constantFrom('user%6Eame', 'user+name', 'other', '__proto__', '', 'toString') },
  // Near misses: a known key's length with other text, a prefix, a longer key.
  {
    weight: 1,
    arbitrary: fc.constantFrom('usernamE', 'Username', 'vhosT', 'vhos', 'vhostt', 'acc=', 'ac', 'accc'),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 4 }) },
);
/** Value pieces: plain text, escapes of every kind, separators, raw bytes. */
const piece = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('u1', 'a.b.*', '%2F', '2', '', 'x y') },
  {
    weight: 3,
    arbitrary: fc.constantFrom('=', '+', '%', '%2', '%2B', '%25', '%41', '%4a', '%00', '%7F', '%%41'),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '%80',
      '%C3%A9',
      '%FF',
      '%EF%BB%BF',
      '%ED%A0%80',
      '\u00e9',
      '\u0000',
      '\u007f',
      '&',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 4 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 3 }) },
);
/** `key=value` pairs (sometimes without `=`, sometimes empty) joined with `&`. */
const pairs = fc.array(
  fc
    .tuple(key, fc.array(piece, { maxLength: 4 }), fc.nat(9))
    .map(([k, v, n]) => (n === 0 ? k : n === 1 ? '' : `${k}=${v.join('')}`)),
  { maxLength: 8 },
);
/** Values as brokers send them: mostly plain, sometimes escaped, `+`, `%` at the end, non-ASCII. */
const value = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('u1', 'devices.u1.t.3', '', 'amq.topic', 'a.b.*') },
  { weight: 2, arbitrary: fc.array(piece, { maxLength: 4 }).map((v) => v.join('')) },
);
/**
 * The keys in their own order (the read tries the next one first), some left out, each pair sometimes
 * without `=`, repeated or followed by a stray one, so that a guess misses at every place.
 */
const ordered = fc
  .tuple(
    fc.subarray(KEYS),
    fc.array(fc.tuple(value, fc.nat(19), key), { minLength: KEYS.length, maxLength: KEYS.length }),
  )
  .map(([names, rest]) =>
    names.flatMap((k, i) => {
      const [v, n, other] = rest[i] as [string, number, string];
      if (n === 0) return [k];
      if (n === 1) return [`${k}=${v}`, `${k}=${v}`];
      if (n === 2) return [`${k}=${v}`, `${other}=${v}`];
      if (n === 3) return [`${other}=${v}`];
      return [`${k}=${v}`];
    }),
  );
/** Something not ASCII: a raw char, or an escape of one. */
const notAscii = ['\u00e9', '\u0080', '\u00ff', '\u20ac', '\ud83d\ude00', '%C3%A9', '%80'];
/** A non-ASCII char (or escape) put into a key, a value or after the last `&`. */
const spoiled = (chars: string[]) =>
  fc.tuple(ordered, fc.constantFrom(...chars), fc.nat(), fc.nat(2)).map(([p, bad, at, where]) => {
    if (where === 2 || p.length === 0) return [...p, bad].join('&');
    const i = at % p.length;
    const pair = p[i] as string;
    const cut = at % (pair.length + 1);
    return p.with(i, pair.slice(0, cut) + bad + pair.slice(cut)).join('&');
  });
/** Bodies with a byte or escape above 0x7F: UTF-8, or single bytes (latin1) that are not UTF-8. */
const notAsciiBodies = fc.oneof(
  spoiled(notAscii).map((text) => Buffer.from(text, 'utf8')),
  spoiled(notAscii.filter((c) => c <= '\u00ff')).map((text) => Buffer.from(text, 'latin1')),
);
const bodies = fc.oneof(
  { weight: 6, arbitrary: pairs.map((p) => Buffer.from(p.join('&'), 'utf8')) },
  { weight: 4, arbitrary: ordered.map((p) => Buffer.from(p.join('&'), 'utf8')) },
  { weight: 2, arbitrary: notAsciiBodies },
  // Bytes that are not UTF-8 at all.
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 24 }).map((bytes) => Buffer.from(bytes)) },
);

describe('readPlainForm', () => {
  it('reads exactly what UrlEncodedForm reads, or leaves the body to it', () => {
    let read = 0;
    fc.assert(
      fc.property(bodies, (body) => {
        const plain = readPlainForm(body, keys);
        if (plain === undefined) return;
        read++;
        const form = UrlEncodedForm.parse(body);
        expect(form.undecodable.size).toBe(0);
        expect(Object.entries(plain)).toEqual(Object.entries(form.fields));
        // The values are ASCII: their text is the bytes UrlEncodedForm gives.
        for (const key of Object.keys(plain)) {
          expect(Buffer.from(plain[key] as string, 'latin1')).toEqual(form.bytes(key));
        }
      }),
      { numRuns: 10000 },
    );
    // Not vacuous: many generated bodies were read here.
    expect(read).toBeGreaterThan(2000);
  });

  it('reads values by key index exactly as UrlEncodedForm reads the fields, or leaves the body to it', () => {
    let read = 0;
    fc.assert(
      fc.property(bodies, (body) => {
        const order: number[] = [];
        const values = readPlainFormValues(body, keys, order);
        if (values === undefined) return;
        read++;
        const form = UrlEncodedForm.parse(body);
        expect(form.undecodable.size).toBe(0);
        // Every key in its slot, nothing else given, in the body's order.
        expect(values).toEqual(KEYS.map((k) => (Object.hasOwn(form.fields, k) ? form.fields[k] : undefined)));
        expect(order.map((i) => KEYS[i])).toEqual(Object.keys(form.fields));
      }),
      { numRuns: 10000 },
    );
    expect(read).toBeGreaterThan(2000);
  });

  it('matches a key in bytes exactly as in text', () => {
    fc.assert(
      fc.property(
        fc.oneof(key, fc.string({ unit: 'binary', maxLength: 6 })),
        fc.string({ maxLength: 3 }),
        (k, pad) => {
          const text = `${pad}${k}${pad}`;
          const bytes = Buffer.from(text, 'latin1');
          const from = pad.length;
          const to = from + k.length;
          expect(keys.indexInBytes(bytes, from, to)).toBe(keys.indexIn(bytes.toString('latin1'), from, to));
          if (KEYS.includes(k)) expect(keys.indexInBytes(bytes, from, to)).toBe(KEYS.indexOf(k));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('takes only keys it can match in place: plain, distinct, at most 31', () => {
    for (const bad of [['a=b'], ['a&b'], ['a+b'], ['a%41'], ['a b'], [''], ['\u00e9'], ['a', 'a']]) {
      expect(() => new PlainFormKeys(bad), JSON.stringify(bad)).toThrow(RangeError);
    }
    expect(() => plainFormKeys(Array.from({ length: 32 }, (_, i) => `k${i}`))).toThrow(RangeError);
    expect(plainFormKeys(['variable_map.client_id', 'name', 'tags']).names).toEqual([
      'variable_map.client_id',
      'name',
      'tags',
    ]);
  });

  it('reads the forms brokers send', () => {
    const body = Buffer.from(
      'username=u1&vhost=%2F&routing_key=devices.u1.t+1%2a&variable_map.client_id=u1&acc=2&password=%25pw',
    );
    expect(readPlainForm(body, keys)).toEqual({
      username: 'u1',
      vhost: '/',
      routing_key: 'devices.u1.t 1*',
      'variable_map.client_id': 'u1',
      acc: '2',
      password: '%pw',
    });
    expect(readPlainForm(Buffer.from('username&&vhost=100%&acc=%4'), keys)).toEqual({
      username: '',
      vhost: '100%',
      acc: '%4',
    });
  });

  it('leaves every body with a byte or an escape above 0x7F to UrlEncodedForm, wherever it is', () => {
    fc.assert(
      fc.property(notAsciiBodies, (body) => {
        expect(readPlainFormValues(body, keys)).toBeUndefined();
      }),
      { numRuns: 3000 },
    );
  });

  it('leaves repeated, unknown and escaped keys and non-ASCII values to UrlEncodedForm', () => {
    for (const text of [
      'username=a&username=b',
      'username=a&extra=1',
      'user%6Eame=a',
      'username=%C3%A9',
      'username=\u00e9',
      'username=%FF',
      '__proto__=x',
    ]) {
      expect(readPlainForm(Buffer.from(text, 'utf8'), keys), text).toBeUndefined();
    }
  });

  it('keeps no part of the body alive through the values it reads, on either path', () => {
    // Values are kept (a username and client id by the session table, a topic by the decision cache): a
    // slice or join of the body would keep all of it (a password, padding). 3 × 150 bodies with 64 KiB in
    // another key keep ~28 MiB if the values held them.
    const padding = 'p'.repeat(64 * 1024);
    const kept: unknown[] = [];
    const bytes = heapKeptBy(() => {
      for (let i = 0; i < 150; i++) {
        // 13 chars, the shortest V8 cuts as a slice; plain, escaped (`+`, `%2F`), and on the general path.
        const plain = `u${String(i).padStart(12, '0')}`;
        const bodies = [
          `username=${plain}&password=${padding}&routing_key=devices.${plain}.t`,
          `username=${plain}+x&password=${padding}&routing_key=devices%2F${plain}`,
          `username=${plain}&password=${padding}&other=%FF`,
        ];
        const read = () => {
          const [first, second] = bodies.map((text) => readPlainFormValues(Buffer.from(text), keys));
          const general = UrlEncodedForm.parse(Buffer.from(bodies[2] as string)).fields;
          return [first?.[0], first?.[2], second?.[0], second?.[2], general.username];
        };
        // Compared in a read of their own: a comparison flattens a joined string, which lets the body go.
        expect(read()).toEqual([plain, `devices.${plain}.t`, `${plain} x`, `devices/${plain}`, plain]);
        kept.push(...read());
      }
    });
    expect(bytes).toBeLessThan(4 * 1024 * 1024);
    expect(kept).toHaveLength(750);
  });
});

import { UrlEncodedForm } from '@mqtt-warden/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('UrlEncodedForm', () => {
  it('decodes percent-escapes to bytes before reading UTF-8', () => {
    const form = UrlEncodedForm.parse('username=d%C3%A9v&password=%FF%FE%00A&topic=cmd%2F%FF&plus=a+b%2B');
    expect(form.fields.username).toBe('dév');
    expect(form.bytes('password')).toEqual(Buffer.from([0xff, 0xfe, 0x00, 0x41]));
    expect([...form.undecodable].sort()).toEqual(['password', 'topic']);
    // Text keeps the levels (U+FFFD in place of the bad byte), but the key is marked undecodable.
    expect(form.fields.topic).toBe('cmd/\ufffd');
    expect(form.fields.plus).toBe('a b+');
  });

  it('keeps a % that does not start an escape, as the URL standard does', () => {
    const form = UrlEncodedForm.parse('a=100%25&b=%G1&c=%4&d=%');
    expect(form.fields).toEqual({ a: '100%', b: '%G1', c: '%4', d: '%' });
    expect(form.undecodable.size).toBe(0);
  });

  it('collects a repeated key into a list and has no prototype keys', () => {
    const form = UrlEncodedForm.parse('u=a&u=b&__proto__=x&constructor=y&flag&=e');
    expect(form.fields.u).toEqual(['a', 'b']);
    expect(Object.getPrototypeOf(form.fields)).toBeNull();
    expect(Object.keys(form.fields)).toEqual(['u', '__proto__', 'constructor', 'flag', '']);
    expect(form.fields.flag).toBe('');
    expect(form.bytes('u')).toEqual(Buffer.from('a'));
  });

  it('reads a body as bytes: raw UTF-8 is text, raw bytes that are not UTF-8 are undecodable', () => {
    const body = Buffer.concat([Buffer.from('a=d\u00e9v&p='), Buffer.from([0xff, 0x41])]);
    const form = UrlEncodedForm.parse(body);
    expect(form.fields.a).toBe('dév');
    expect(form.bytes('p')).toEqual(Buffer.from([0xff, 0x41]));
    expect([...form.undecodable]).toEqual(['p']);
  });

  it('reads the query of a request target', () => {
    expect(UrlEncodedForm.ofUrl('/emqx/authn?username=a%2Fb').fields).toEqual({ username: 'a/b' });
    expect(Object.keys(UrlEncodedForm.ofUrl('/emqx/authn').fields)).toEqual([]);
  });

  it('round-trips any bytes and agrees with URLSearchParams on UTF-8 text', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 40 }),
        fc.string({ unit: 'grapheme', maxLength: 20 }),
        (bytes, text) => {
          const escaped = [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
          const form = UrlEncodedForm.parse(`p=${escaped}`);
          expect(form.bytes('p')).toEqual(Buffer.from(bytes));
          let expected: string | undefined;
          try {
            expected = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
          } catch {
            expected = undefined;
          }
          expect(form.undecodable.has('p')).toBe(expected === undefined);
          if (expected !== undefined) expect(form.fields.p).toBe(expected);
          const query = new URLSearchParams({ t: text }).toString();
          expect(UrlEncodedForm.parse(query).fields.t).toBe(text);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

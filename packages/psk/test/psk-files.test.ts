import { ConfigError } from '@mqtt-warden/core';
import { describe, expect, it } from 'vitest';
import {
  generatePskKey,
  PskFileError,
  PskStore,
  parseEmqxPskFile,
  parseMosquittoPskFile,
} from '../src/index.js';

const hex = (key: Uint8Array | undefined) => Buffer.from(key ?? []).toString('hex');

describe('parseMosquittoPskFile', () => {
  // Expected bytes computed independently with python3: int(key, 16).to_bytes(...) plus leading "00" pairs.
  it('decodes keys like mosquitto__hex2bin, including odd lengths and leading zero pairs', () => {
    const keys = parseMosquittoPskFile(
      [
        '# comment:ignored',
        'easy:12345',
        'even:0123456789abcdefABCDEF',
        'zeros:0012ab',
        'odd-zeros:00012',
        'only-zeros:000',
        'no colon here',
        '',
        '  spaced\t:  beef  ',
        'crlf:cafe\r',
        'extra:abcd:ignored',
      ].join('\n'),
    );
    expect([...keys.keys()]).toEqual([
      'easy',
      'even',
      'zeros',
      'odd-zeros',
      'only-zeros',
      'spaced',
      'crlf',
      'extra',
    ]);
    expect(hex(keys.get('easy'))).toBe('012345');
    expect(hex(keys.get('even'))).toBe('0123456789abcdefabcdef');
    expect(hex(keys.get('zeros'))).toBe('0012ab');
    expect(hex(keys.get('odd-zeros'))).toBe('0012');
    expect(hex(keys.get('only-zeros'))).toBe('00');
    expect(hex(keys.get('spaced'))).toBe('beef');
    expect(hex(keys.get('crlf'))).toBe('cafe');
    expect(hex(keys.get('extra'))).toBe('abcd');
  });

  it.each([
    ['a:12g4', 2, 'not hexadecimal'],
    ['a:0x1234', 2, 'not hexadecimal'],
    ['a:', 2, 'missing key'],
    [':abcd', 2, 'missing key'],
    ['a:0', 2, 'zero-length'],
  ])('refuses %j with a PskFileError naming the line', (line, lineNumber, message) => {
    const error = catchError(() => parseMosquittoPskFile(`ok:abcd\n${line}\n`));
    expect(error).toBeInstanceOf(PskFileError);
    expect(error).toMatchObject({ code: 'ERR_PSK_FILE', line: lineNumber });
    expect((error as Error).message).toContain(message);
  });
});

describe('parseEmqxPskFile', () => {
  it('splits on the first separator and keeps the secret bytes as written', () => {
    const keys = parseEmqxPskFile('client1:secret1\r\nclient2:s:e:c\nhexid:0123456789abcdef\n');
    expect(Buffer.from(keys.get('client1')!).toString()).toBe('secret1');
    expect(Buffer.from(keys.get('client2')!).toString()).toBe('s:e:c');
    // EMQX does not hex-decode: 16 characters are a 16-byte key.
    expect(keys.get('hexid')).toHaveLength(16);
  });

  it('accepts another separator', () => {
    const keys = parseEmqxPskFile('a|b:c\n', { separator: '|' });
    expect(Buffer.from(keys.get('a')!).toString()).toBe('b:c');
  });

  it.each([
    ['# comment\na:b\n', 1],
    ['a:b\n\nc:d\n', 2],
    ['a:b\nno-separator\n', 2],
    [':secret\n', 1],
    ['id:\n', 1],
  ])('refuses %j (no comments, no blank lines, no empty fields)', (text, line) => {
    const error = catchError(() => parseEmqxPskFile(text));
    expect(error).toBeInstanceOf(PskFileError);
    expect(error).toMatchObject({ code: 'ERR_PSK_FILE', line });
  });
});

describe('PskStore and generatePskKey', () => {
  it('stores, replaces and deletes keys', () => {
    const store = new PskStore(parseMosquittoPskFile('a:abcd\nb:1234\n'));
    expect(store.size).toBe(2);
    store.set('c', generatePskKey());
    expect(store.get('c')).toHaveLength(32);
    expect(store.delete('a')).toBe(true);
    expect(store.get('a')).toBeUndefined();
    store.replace([['z', new Uint8Array([1])]]);
    expect(store.has('b')).toBe(false);
    expect(store.size).toBe(1);
  });

  it('refuses empty identities and keys', () => {
    expect(() => new PskStore([['', new Uint8Array([1])]])).toThrow(ConfigError);
    expect(() => new PskStore().set('a', new Uint8Array())).toThrow(ConfigError);
  });

  it('generates distinct random keys of the requested length within bounds', () => {
    expect(hex(generatePskKey())).not.toBe(hex(generatePskKey()));
    expect(generatePskKey(16)).toHaveLength(16);
    expect(() => generatePskKey(8)).toThrow(ConfigError);
    expect(() => generatePskKey(1.5)).toThrow(ConfigError);
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HASH_LIMITS,
  identifyHash,
  PasswordFormatError,
  type StoredHash,
  verifyPassword,
} from '../src/index.js';
import * as v from './vectors.js';

const { PASSWORD } = v;
const WRONG = 'Tr0ub4dor&3-mqtT';

async function formatError(stored: string | StoredHash, password = PASSWORD): Promise<PasswordFormatError> {
  const error = await verifyPassword(password, stored).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PasswordFormatError);
  const e = error as PasswordFormatError;
  expect(e.code).toBe('ERR_PASSWORD_FORMAT');
  expect(e.message).not.toContain(password);
  return e;
}

describe('verifyPassword: every format against independently computed vectors', () => {
  const cases: [string, string | StoredHash, string | Uint8Array, string][] = [
    [
      'mosquitto_passwd $7$ (2.0, 12-byte salt, 101 iterations)',
      v.MOSQUITTO_PASSWD_PBKDF2,
      PASSWORD,
      'mosquitto-pbkdf2',
    ],
    ['mosquitto_passwd -H sha512 $6$', v.MOSQUITTO_PASSWD_SHA512, PASSWORD, 'mosquitto-sha512'],
    [
      'mosquitto_passwd $7$ with a UTF-8 password',
      v.MOSQUITTO_PASSWD_UNICODE,
      v.UNICODE_PASSWORD,
      'mosquitto-pbkdf2',
    ],
    [
      'Mosquitto 2.1 $7$ (64-byte salt, 1000 iterations)',
      v.MOSQUITTO_21_PBKDF2,
      PASSWORD,
      'mosquitto-pbkdf2',
    ],
    ['Mosquitto 2.1 $6$ (64-byte salt)', v.MOSQUITTO_21_SHA512, PASSWORD, 'mosquitto-sha512'],
    ['$6$ with a binary password', v.MOSQUITTO_SHA512_BINARY, v.BINARY_PASSWORD, 'mosquitto-sha512'],
    ['go-auth PBKDF2 sha512 defaults', v.GO_AUTH_SHA512, PASSWORD, 'go-auth-pbkdf2'],
    ['go-auth PBKDF2 sha256', v.GO_AUTH_SHA256, PASSWORD, 'go-auth-pbkdf2'],
    ['go-auth PBKDF2 with a leading $', `$${v.GO_AUTH_SHA256}`, PASSWORD, 'go-auth-pbkdf2'],
    ['go-auth $pbkdf2-sha512$', v.GO_AUTH_PHC, PASSWORD, 'go-auth-pbkdf2'],
    [
      'go-auth PBKDF2 utf-8 salt',
      { algorithm: 'go-auth-pbkdf2', hash: v.GO_AUTH_UTF8, saltEncoding: 'utf-8' },
      PASSWORD,
      'go-auth-pbkdf2',
    ],
    [
      'go-auth $pbkdf2-sha512$ utf-8 salt, parameters reordered',
      { algorithm: 'go-auth-pbkdf2', hash: v.GO_AUTH_PHC_UTF8, saltEncoding: 'utf-8' },
      PASSWORD,
      'go-auth-pbkdf2',
    ],
    ['bcrypt $2a$', v.BCRYPT_2A, PASSWORD, 'bcrypt'],
    ['bcrypt $2b$', v.BCRYPT_2B, PASSWORD, 'bcrypt'],
    ['bcrypt $2y$', v.BCRYPT_2Y, PASSWORD, 'bcrypt'],
    ['bcrypt with a UTF-8 password', v.BCRYPT_UNICODE, v.UNICODE_PASSWORD, 'bcrypt'],
    ['EMQX bcrypt column', { algorithm: 'bcrypt', hash: v.BCRYPT_2B }, PASSWORD, 'bcrypt'],
    ['argon2id', v.ARGON2ID, PASSWORD, 'argon2id'],
    ['argon2i, p=2', v.ARGON2I, PASSWORD, 'argon2i'],
    ['argon2d, 24-byte output', v.ARGON2D, PASSWORD, 'argon2d'],
    ['argon2id version 16', v.ARGON2ID_V16, PASSWORD, 'argon2id'],
    ['argon2id as Mosquitto 2.1 writes it', v.ARGON2ID_MOSQUITTO_21, PASSWORD, 'argon2id'],
    [
      'argon2id with parameters in another order',
      v.ARGON2ID.replace('m=1024,t=2,p=1', 'p=1,t=2,m=1024'),
      PASSWORD,
      'argon2id',
    ],
    ['EMQX plain', { algorithm: 'plain', hash: PASSWORD }, PASSWORD, 'emqx-plain'],
    [
      'EMQX pbkdf2 sha256, dkLength 32',
      {
        algorithm: 'pbkdf2',
        macFun: 'sha256',
        iterations: 1000,
        dkLength: 32,
        salt: v.EMQX_SALT,
        hash: v.EMQX_PBKDF2_SHA256_32,
      },
      PASSWORD,
      'emqx-pbkdf2',
    ],
    [
      'EMQX pbkdf2 sha (SHA-1), default dkLength',
      {
        algorithm: 'pbkdf2',
        macFun: 'sha',
        iterations: 1000,
        salt: v.EMQX_SALT,
        hash: v.EMQX_PBKDF2_SHA_DEFAULT,
      },
      PASSWORD,
      'emqx-pbkdf2',
    ],
    [
      'EMQX pbkdf2 sha512, dkLength 16',
      {
        algorithm: 'pbkdf2',
        macFun: 'sha512',
        iterations: 1000,
        dkLength: 16,
        salt: v.EMQX_SALT,
        hash: v.EMQX_PBKDF2_SHA512_16,
      },
      PASSWORD,
      'emqx-pbkdf2',
    ],
  ];
  for (const algorithm of ['md5', 'sha', 'sha256', 'sha512'] as const) {
    for (const saltPosition of ['prefix', 'suffix', 'disable'] as const) {
      cases.push([
        `EMQX ${algorithm} salt ${saltPosition}`,
        { algorithm, hash: v.EMQX[algorithm][saltPosition], salt: v.EMQX_SALT, saltPosition },
        PASSWORD,
        `emqx-${algorithm}`,
      ]);
    }
  }

  for (const [name, stored, password, format] of cases) {
    it(`${name}: right password true, wrong password false`, async () => {
      expect(identifyHash(stored)).toBe(format);
      expect(await verifyPassword(password, stored)).toBe(true);
      expect(await verifyPassword(WRONG, stored)).toBe(false);
      expect(await verifyPassword('', stored)).toBe(false);
    });
  }

  it('accepts the password as a string or its UTF-8 bytes alike', async () => {
    expect(
      await verifyPassword(new TextEncoder().encode(v.UNICODE_PASSWORD), v.MOSQUITTO_PASSWD_UNICODE),
    ).toBe(true);
    expect(
      await verifyPassword(Buffer.from(v.BINARY_PASSWORD).subarray(0, 4), v.MOSQUITTO_SHA512_BINARY),
    ).toBe(false);
  });

  it('EMQX: salt prefix is the default, hex is compared case-insensitively, plain is case-sensitive', async () => {
    expect(
      await verifyPassword(PASSWORD, { algorithm: 'sha256', hash: v.EMQX.sha256.prefix, salt: v.EMQX_SALT }),
    ).toBe(true);
    expect(
      await verifyPassword(PASSWORD, {
        algorithm: 'sha256',
        hash: v.EMQX.sha256.prefix.toUpperCase(),
        salt: v.EMQX_SALT,
      }),
    ).toBe(true);
    expect(
      await verifyPassword(PASSWORD, { algorithm: 'sha256', hash: v.EMQX.sha256.suffix, salt: v.EMQX_SALT }),
    ).toBe(false);
    expect(await verifyPassword(PASSWORD.toUpperCase(), { algorithm: 'plain', hash: PASSWORD })).toBe(false);
    expect(await verifyPassword(`${PASSWORD}x`, { algorithm: 'plain', hash: PASSWORD })).toBe(false);
  });

  it('EMQX plain with a salt stores salt‖password (prefix, the default) or password‖salt (suffix) in clear', async () => {
    const salt = 'e1c9d0a8';
    const prefix = { algorithm: 'plain', salt, hash: `${salt}${PASSWORD}` } as const;
    const suffix = { algorithm: 'plain', salt, saltPosition: 'suffix', hash: `${PASSWORD}${salt}` } as const;
    expect(await verifyPassword(PASSWORD, prefix)).toBe(true);
    expect(await verifyPassword(PASSWORD, { ...prefix, saltPosition: 'prefix' })).toBe(true);
    expect(await verifyPassword(PASSWORD, suffix)).toBe(true);
    // The stored text itself is not the password, and the salt is not optional.
    expect(await verifyPassword(prefix.hash, prefix)).toBe(false);
    expect(await verifyPassword(PASSWORD, { ...prefix, saltPosition: 'suffix' })).toBe(false);
    expect(await verifyPassword(PASSWORD, { ...suffix, saltPosition: 'prefix' })).toBe(false);
    // `disable` ignores the salt, as for the digests.
    expect(await verifyPassword(PASSWORD, { ...prefix, saltPosition: 'disable', hash: PASSWORD })).toBe(true);
    expect(await verifyPassword(PASSWORD, { ...prefix, saltPosition: 'disable' })).toBe(false);
  });

  it('go-auth: the salt encoding is configuration, as in go-auth (issue #65)', async () => {
    // `utf8SaltText` is also valid base64; read that way it is another salt, so the password does not match.
    expect(await verifyPassword(PASSWORD, v.GO_AUTH_UTF8)).toBe(false);
    expect(
      await verifyPassword(PASSWORD, {
        algorithm: 'go-auth-pbkdf2',
        hash: v.GO_AUTH_SHA256,
        saltEncoding: 'utf-8',
      }),
    ).toBe(false);
  });

  it('go-auth takes the key length from the stored hash; keys under 16 bytes are refused', async () => {
    // A PBKDF2 key cut to 24 bytes is still that password's PBKDF2 key of length 24 (go-auth allows any
    // hasher_keylen); what must not happen is a key so short that guessing it becomes practical.
    expect(await verifyPassword(PASSWORD, v.GO_AUTH_SHA256.slice(0, -12))).toBe(true);
    expect(await verifyPassword(WRONG, v.GO_AUTH_SHA256.slice(0, -12))).toBe(false);
    await formatError(v.GO_AUTH_SHA256.slice(0, -28));
  });

  it('bcrypt: passwords longer than 72 bytes never match (as Go bcrypt), nor bytes that are not UTF-8', async () => {
    expect(await verifyPassword(`${PASSWORD}${'x'.repeat(80)}`, v.BCRYPT_2B)).toBe(false);
    expect(await verifyPassword(new Uint8Array([0xff, 0xfe]), v.BCRYPT_2B)).toBe(false);
  });
});

describe('verifyPassword: malformed or unknown stored values throw PasswordFormatError, never true', () => {
  const bad: [string, string | StoredHash][] = [
    ['empty string', ''],
    ['plain text', PASSWORD],
    ['unknown prefix $5$ (crypt SHA-256)', '$5$rounds=5000$salt$hash'],
    ['unknown prefix $1$', '$1$salt$hash'],
    ['bcrypt $2x$', v.BCRYPT_2B.replace('$2b$', '$2x$')],
    ['argon2 unknown variant', v.ARGON2ID.replace('argon2id', 'argon2x')],
    ['$pbkdf2-sha256$ (not a go-auth form)', v.GO_AUTH_PHC.replace('sha512', 'sha256')],
    ['go-auth unknown digest', v.GO_AUTH_SHA256.replace('sha256', 'sha1')],
    ['Mosquitto bad:$', '$'],
    ['Mosquitto $6', '$6'],
    ['Mosquitto $6$ salt without hash', '$6$hciZUxaDt2r/Eg11'],
    ['Mosquitto $6$ empty hash', '$6$hciZUxaDt2r/Eg11$'],
    ['truncated $6$ hash', v.MOSQUITTO_PASSWD_SHA512.slice(0, -4)],
    ['truncated $7$ hash', v.MOSQUITTO_PASSWD_PBKDF2.slice(0, -8)],
    ['truncated bcrypt', v.BCRYPT_2B.slice(0, -1)],
    ['truncated argon2id', v.ARGON2ID.slice(0, -10)],
    ['truncated go-auth', v.GO_AUTH_SHA256.slice(0, -5)],
    ['truncated $pbkdf2-sha512$ (length no longer l)', v.GO_AUTH_PHC.slice(0, -11)],
    ['$7$ bad base64 salt', v.MOSQUITTO_PASSWD_PBKDF2.replace('kDIfSZUn', 'kDIf*ZUn')],
    ['$7$ bad base64 hash', v.MOSQUITTO_PASSWD_PBKDF2.replace('j/F0ZDhB', 'j/F0Z-hB')],
    ['$6$ base64 without padding', v.MOSQUITTO_PASSWD_SHA512.replace(/==$/, '')],
    ['argon2 base64 with padding', `${v.ARGON2ID}=`],
    ['go-auth base64 salt with a space', v.GO_AUTH_SHA256.replace('ABEiM0RV', 'ABEi M0RV')],
    [
      '$7$ 16-byte salt',
      `$7$101$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(64).toString('base64')}`,
    ],
    [
      '$7$ 32-byte hash',
      `$7$101$${Buffer.alloc(12).toString('base64')}$${Buffer.alloc(32).toString('base64')}`,
    ],
    ['$7$ iterations 0', v.MOSQUITTO_PASSWD_PBKDF2.replace('$7$101$', '$7$0$')],
    ['$7$ iterations negative', v.MOSQUITTO_PASSWD_PBKDF2.replace('$7$101$', '$7$-1$')],
    ['$7$ iterations absurd', v.MOSQUITTO_PASSWD_PBKDF2.replace('$7$101$', '$7$99999999999$')],
    [
      '$7$ iterations above the limit',
      v.MOSQUITTO_PASSWD_PBKDF2.replace('$7$101$', `$7$${HASH_LIMITS.pbkdf2MaxIterations + 1}$`),
    ],
    ['$7$ iterations not decimal', v.MOSQUITTO_PASSWD_PBKDF2.replace('$7$101$', '$7$0x65$')],
    ['$7$ extra field', `${v.MOSQUITTO_PASSWD_PBKDF2}$extra`],
    ['go-auth iterations 0', v.GO_AUTH_SHA256.replace('$1000$', '$0$')],
    [
      'go-auth 8-byte key',
      `PBKDF2$sha256$1000$ABEiM0RVZneImaq7zN3u/w==$${Buffer.alloc(8).toString('base64')}`,
    ],
    ['go-auth empty salt', 'PBKDF2$sha256$1000$$dQjF77C27nVE9b6JYzVvsLMclOkS4wg84BYT8ASbZMY='],
    ['$pbkdf2-sha512$ i=0', v.GO_AUTH_PHC.replace('i=1000', 'i=0')],
    ['$pbkdf2-sha512$ l mismatch', v.GO_AUTH_PHC.replace('l=64', 'l=32')],
    ['$pbkdf2-sha512$ missing l', v.GO_AUTH_PHC.replace('i=1000,l=64', 'i=1000')],
    ['$pbkdf2-sha512$ unknown key', v.GO_AUTH_PHC.replace('i=1000,l=64', 'i=1000,l=64,x=1')],
    ['$pbkdf2-sha512$ duplicate key', v.GO_AUTH_PHC.replace('i=1000,l=64', 'i=1000,i=1,l=64')],
    ['bcrypt cost 03', v.BCRYPT_2B.replace('$05$', '$03$')],
    ['bcrypt cost 31 (absurd)', v.BCRYPT_2B.replace('$05$', '$31$')],
    ['bcrypt bad alphabet', v.BCRYPT_2B.replace('abcd', 'ab+d')],
    ['argon2 t=0', v.ARGON2ID.replace('t=2', 't=0')],
    ['argon2 p=0', v.ARGON2ID.replace('p=1', 'p=0')],
    ['argon2 m below 8*p', v.ARGON2ID.replace('m=1024', 'm=7')],
    ['argon2 m absurd', v.ARGON2ID.replace('m=1024', 'm=4294967295')],
    ['argon2 t absurd', v.ARGON2ID.replace('t=2', 't=100000')],
    ['argon2 missing m', v.ARGON2ID.replace('m=1024,', '')],
    ['argon2 duplicate t', v.ARGON2ID.replace('t=2', 't=2,t=3')],
    ['argon2 unknown parameter', v.ARGON2ID.replace('p=1', 'p=1,x=2')],
    ['argon2 version 18', v.ARGON2ID.replace('v=19', 'v=18')],
    ['argon2 4-byte salt', v.ARGON2ID.replace('c2FsdHNhbHRzYWx0c2FsdA', 'c2FsdA')],
    ['argon2 empty hash', v.ARGON2ID.replace(/\$[^$]+$/, '$')],
    ['EMQX unknown algorithm', { algorithm: 'sha1', hash: v.EMQX.sha.prefix } as unknown as StoredHash],
    [
      'EMQX sha256 hash 63 hex',
      { algorithm: 'sha256', hash: v.EMQX.sha256.prefix.slice(1), salt: v.EMQX_SALT },
    ],
    ['EMQX md5 hash of sha256 length', { algorithm: 'md5', hash: v.EMQX.sha256.prefix }],
    ['EMQX non-hex hash', { algorithm: 'md5', hash: 'z'.repeat(32) }],
    ['EMQX extra field', { algorithm: 'md5', hash: v.EMQX.md5.prefix, rounds: 1 } as unknown as StoredHash],
    [
      'EMQX bad saltPosition',
      { algorithm: 'md5', hash: v.EMQX.md5.prefix, saltPosition: 'middle' } as unknown as StoredHash,
    ],
    [
      'EMQX pbkdf2 md5 macFun',
      { algorithm: 'pbkdf2', macFun: 'md5', iterations: 1, salt: '', hash: '' } as unknown as StoredHash,
    ],
    [
      'EMQX pbkdf2 iterations 0',
      {
        algorithm: 'pbkdf2',
        macFun: 'sha256',
        iterations: 0,
        salt: v.EMQX_SALT,
        hash: v.EMQX_PBKDF2_SHA256_32,
      },
    ],
    [
      'EMQX pbkdf2 iterations 1.5',
      {
        algorithm: 'pbkdf2',
        macFun: 'sha256',
        iterations: 1.5,
        salt: v.EMQX_SALT,
        hash: v.EMQX_PBKDF2_SHA256_32,
      },
    ],
    [
      'EMQX pbkdf2 iterations absurd',
      {
        algorithm: 'pbkdf2',
        macFun: 'sha256',
        iterations: 2 ** 31,
        salt: v.EMQX_SALT,
        hash: v.EMQX_PBKDF2_SHA256_32,
      },
    ],
    [
      'EMQX pbkdf2 hash of another dkLength',
      {
        algorithm: 'pbkdf2',
        macFun: 'sha256',
        iterations: 1000,
        dkLength: 16,
        salt: v.EMQX_SALT,
        hash: v.EMQX_PBKDF2_SHA256_32,
      },
    ],
    [
      'EMQX pbkdf2 dkLength 0',
      { algorithm: 'pbkdf2', macFun: 'sha256', iterations: 1000, dkLength: 0, salt: v.EMQX_SALT, hash: '' },
    ],
    [
      'EMQX pbkdf2 missing salt',
      {
        algorithm: 'pbkdf2',
        macFun: 'sha256',
        iterations: 1000,
        hash: v.EMQX_PBKDF2_SHA256_32,
      } as unknown as StoredHash,
    ],
    ['EMQX bcrypt object with a $6$ value', { algorithm: 'bcrypt', hash: v.MOSQUITTO_PASSWD_SHA512 }],
    [
      'go-auth object with a $7$ value',
      { algorithm: 'go-auth-pbkdf2', hash: v.MOSQUITTO_PASSWD_PBKDF2, saltEncoding: 'base64' },
    ],
    ['null', null as unknown as StoredHash],
    ['a number', 42 as unknown as StoredHash],
  ];
  for (const [name, stored] of bad) {
    it(name, async () => {
      const e = await formatError(stored);
      if (typeof stored === 'string' && stored.length > 8) expect(e.message).not.toContain(stored);
      expect(() => identifyHash(stored)).toThrow(PasswordFormatError);
    });
  }

  it('a mutated valid hash is false or PasswordFormatError, never true and never another error', async () => {
    const hashes = [v.MOSQUITTO_PASSWD_SHA512, v.GO_AUTH_SHA256, v.GO_AUTH_PHC, v.MOSQUITTO_21_SHA512];
    const alphabet = '$=+/.,09azAZ-_ '.split('');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...hashes),
        fc.nat(),
        fc.constantFrom(...alphabet),
        async (hash, at, ch) => {
          const i = at % hash.length;
          const mutated = hash.slice(0, i) + ch + hash.slice(i + 1);
          fc.pre(mutated !== hash);
          const result = await verifyPassword(PASSWORD, mutated).catch((e: unknown) => e);
          if (result instanceof PasswordFormatError) return;
          expect(result).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });
});

import { ConfigError } from '@mqtt-warden/core';
import { describe, expect, it } from 'vitest';
import {
  ARGON2ID_DEFAULTS,
  hashPassword,
  needsRehash,
  PasswordFormatError,
  verifyPassword,
} from '../src/index.js';
import * as v from './vectors.js';

// Cheap parameters wherever the test is not about the defaults: the CPU is shared.
const CHEAP = { memoryCost: 256, timeCost: 1 };

describe('hashPassword', () => {
  it('defaults to argon2id with the OWASP baseline (m=19456, t=2, p=1, 16-byte salt, 32-byte hash)', async () => {
    const hash = await hashPassword(v.PASSWORD);
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await verifyPassword(v.PASSWORD, hash)).toBe(true);
    expect(needsRehash(hash)).toBe(false);
    expect(ARGON2ID_DEFAULTS).toMatchObject({ memoryCost: 19_456, timeCost: 2, parallelism: 1 });
  });

  it('uses a fresh salt each time and hashes binary passwords as bytes', async () => {
    const [a, b] = await Promise.all([hashPassword('same', CHEAP), hashPassword('same', CHEAP)]);
    expect(a).not.toBe(b);
    const binary = await hashPassword(v.BINARY_PASSWORD, CHEAP);
    expect(await verifyPassword(v.BINARY_PASSWORD, binary)).toBe(true);
    expect(await verifyPassword(Buffer.from(v.BINARY_PASSWORD).toString('latin1'), binary)).toBe(false);
  });

  it('refuses parameters outside the safe range with ConfigError', async () => {
    await expect(hashPassword('x', { timeCost: 0 })).rejects.toBeInstanceOf(ConfigError);
    await expect(hashPassword('x', { memoryCost: 4 })).rejects.toBeInstanceOf(ConfigError);
    await expect(hashPassword('x', { memoryCost: 2 ** 32 })).rejects.toBeInstanceOf(ConfigError);
    await expect(hashPassword('x', { saltLength: 8, ...CHEAP })).rejects.toBeInstanceOf(ConfigError);
    await expect(hashPassword('x', { parallelism: 1.5, ...CHEAP })).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('needsRehash', () => {
  it('is true for every format but argon2id, and for argon2id below the target', async () => {
    for (const weak of [
      v.MOSQUITTO_PASSWD_PBKDF2,
      v.MOSQUITTO_PASSWD_SHA512,
      v.BCRYPT_2B,
      v.GO_AUTH_SHA512,
      v.ARGON2I,
    ]) {
      expect(needsRehash(weak)).toBe(true);
    }
    expect(needsRehash({ algorithm: 'sha256', hash: v.EMQX.sha256.prefix, salt: v.EMQX_SALT })).toBe(true);
    expect(needsRehash(v.ARGON2ID)).toBe(true); // m=1024
    expect(needsRehash(v.ARGON2ID_V16)).toBe(true); // version 16
    expect(needsRehash(v.ARGON2ID, { memoryCost: 1024, timeCost: 2 })).toBe(false);
    expect(needsRehash(await hashPassword('x', CHEAP), CHEAP)).toBe(false);
    expect(needsRehash(await hashPassword('x', CHEAP))).toBe(true);
  });

  it('throws PasswordFormatError for a malformed value', () => {
    expect(() => needsRehash('$7$0$x$y')).toThrow(PasswordFormatError);
  });
});

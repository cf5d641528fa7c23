import * as crypto from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { type StoredHash, verifyPassword } from '../src/index.js';
import * as v from './vectors.js';

// Property: password comparisons are constant-time. Timing is too noisy to measure in CI, so the test
// checks the mechanism instead: every format's final comparison goes through crypto.timingSafeEqual
// with the full derived value, for a right and for a wrong password alike.

vi.mock('node:crypto', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:crypto')>();
  return { ...original, timingSafeEqual: vi.fn(original.timingSafeEqual) };
});
const timingSafeEqual = vi.mocked(crypto.timingSafeEqual);

const FORMATS: [string, string | StoredHash][] = [
  ['argon2id', v.ARGON2ID],
  ['bcrypt', v.BCRYPT_2B],
  ['Mosquitto $7$ (PBKDF2)', v.MOSQUITTO_PASSWD_PBKDF2],
  ['Mosquitto $6$ (SHA-512)', v.MOSQUITTO_PASSWD_SHA512],
  ['go-auth PBKDF2', v.GO_AUTH_SHA512],
  ['EMQX salted sha256', { algorithm: 'sha256', hash: v.EMQX.sha256.prefix, salt: v.EMQX_SALT }],
  ['EMQX plain', { algorithm: 'plain', hash: v.PASSWORD }],
];

describe('verifyPassword compares with crypto.timingSafeEqual', () => {
  beforeEach(() => {
    timingSafeEqual.mockClear();
  });

  it.each(FORMATS)('%s', async (_, stored) => {
    expect(await verifyPassword(v.PASSWORD, stored)).toBe(true);
    expect(timingSafeEqual).toHaveBeenCalledTimes(1);
    expect(timingSafeEqual.mock.results[0]).toEqual({ type: 'return', value: true });

    timingSafeEqual.mockClear();
    // A wrong password of the same length differs only in its last byte.
    expect(await verifyPassword(`${v.PASSWORD.slice(0, -1)}4`, stored)).toBe(false);
    expect(timingSafeEqual).toHaveBeenCalledTimes(1);
    expect(timingSafeEqual.mock.results[0]).toEqual({ type: 'return', value: false });
    const [a, b] = timingSafeEqual.mock.calls[0] as [Uint8Array, Uint8Array];
    expect(a.byteLength).toBe(b.byteLength);
    expect(a.byteLength).toBeGreaterThanOrEqual(16);
  });
});

import * as crypto from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { createSasToken, verifySasToken } from '../src/index.js';

// Property: MAC comparisons are constant-time. Timing is too noisy to measure in CI, so the test checks
// the mechanism: the SAS signature is compared with crypto.timingSafeEqual, for a right and a wrong one.

vi.mock('node:crypto', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:crypto')>();
  return { ...original, timingSafeEqual: vi.fn(original.timingSafeEqual) };
});
const timingSafeEqual = vi.mocked(crypto.timingSafeEqual);

const HOST = 'hub.example.net';
const KEY = Buffer.alloc(32, 7);
const options = { hostName: HOST, getKey: () => KEY, now: () => Date.UTC(2025, 0, 1) };

describe('verifySasToken compares the signature with crypto.timingSafeEqual', () => {
  const token = createSasToken({
    hostName: HOST,
    deviceId: 'd1',
    key: KEY,
    expiresAt: Date.UTC(2030, 0, 1) / 1000,
  });

  it('for a valid signature', async () => {
    timingSafeEqual.mockClear();
    await verifySasToken(token, options);
    expect(timingSafeEqual).toHaveBeenCalledTimes(1);
    expect(timingSafeEqual.mock.results[0]).toEqual({ type: 'return', value: true });
  });

  it('for a signature that differs in one byte', async () => {
    const sig = decodeURIComponent(/sig=([^&]+)/.exec(token)![1]!);
    const bytes = Buffer.from(sig, 'base64');
    bytes[31]! ^= 1;
    const forged = token.replace(/sig=[^&]+/, `sig=${encodeURIComponent(bytes.toString('base64'))}`);
    timingSafeEqual.mockClear();
    await expect(verifySasToken(forged, options)).rejects.toMatchObject({ code: 'ERR_SAS_TOKEN_SIGNATURE' });
    expect(timingSafeEqual).toHaveBeenCalledTimes(1);
    expect(timingSafeEqual.mock.results[0]).toEqual({ type: 'return', value: false });
  });
});

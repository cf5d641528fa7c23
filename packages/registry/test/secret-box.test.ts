import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encryptionKeyId, SecretBox } from '../src/index.js';

const plaintext = new Uint8Array([1, 2, 3, 250]);

describe('SecretBox', () => {
  it('seals as v1:<keyId>:<iv>:<ciphertext+tag> and opens for the same row only', () => {
    const key = randomBytes(32);
    const box = new SecretBox([key]);
    const sealed = box.seal(plaintext, 'credential:a');
    expect(sealed).toMatch(new RegExp(`^v1:${encryptionKeyId(key)}:[\\w-]{16}:[\\w-]{27}$`));
    expect(box.open(sealed, 'credential:a')).toEqual(plaintext);
    expect(box.seal(plaintext, 'credential:a')).not.toBe(sealed); // a fresh IV every time
    expect(() => box.open(sealed, 'credential:b')).toThrow(
      expect.objectContaining({ code: 'ERR_SECRET_UNREADABLE' }),
    );
  });

  it('refuses a tampered, truncated or malformed value', () => {
    const box = new SecretBox([randomBytes(32)]);
    const sealed = box.seal(plaintext, 'x');
    const [v, id, iv, body] = sealed.split(':') as [string, string, string, string];
    const flipped = Buffer.from(body, 'base64url');
    flipped[0]! ^= 1;
    for (const bad of [
      `${v}:${id}:${iv}:${flipped.toString('base64url')}`,
      `${v}:${id}:${iv}:${body.slice(0, 10)}`,
      `v2:${id}:${iv}:${body}`,
      'plaintext',
    ])
      expect(() => box.open(bad, 'x')).toThrow(expect.objectContaining({ code: 'ERR_SECRET_UNREADABLE' }));
  });

  it('encrypts with the first key and decrypts with any, naming a missing key', () => {
    const [oldKey, newKey] = [randomBytes(32), randomBytes(32)];
    const sealedOld = new SecretBox([oldKey]).seal(plaintext, 'x');
    const ring = new SecretBox([newKey.toString('base64'), oldKey]);
    expect(ring.currentKeyId).toBe(encryptionKeyId(newKey));
    expect(ring.open(sealedOld, 'x')).toEqual(plaintext);
    expect(ring.isStale(sealedOld)).toBe(true);
    expect(ring.isStale(ring.seal(plaintext, 'x'))).toBe(false);
    expect(() => new SecretBox([newKey]).open(sealedOld, 'x')).toThrow(
      new RegExp(`key ${encryptionKeyId(oldKey)}, which is not configured`),
    );
  });

  it('refuses keys that are not 32 bytes, saying how to generate one', () => {
    expect(() => new SecretBox([randomBytes(16)])).toThrow(/openssl rand -base64 32/);
    expect(() => new SecretBox([])).toThrow(expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }));
  });
});

import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { ConfigError, WardenError } from '@mqtt-warden/core';

/** A stored secret that cannot be decrypted: unknown key id, tampered, or moved to another row. */
export class SecretBoxError extends WardenError {
  declare readonly code: 'ERR_SECRET_UNREADABLE';

  constructor(message: string) {
    super('ERR_SECRET_UNREADABLE', message);
  }
}

/** The id a key is stored under: derived from the key, so a config lists keys only (not id and key). */
export function encryptionKeyId(key: Uint8Array): string {
  return createHash('sha256')
    .update('mqtt-warden secret-box key id\0')
    .update(key)
    .digest('hex')
    .slice(0, 12);
}

/**
 * AES-256-GCM encryption of stored secrets (PSK keys, SAS keys, private signing keys) with a key ring:
 * the first key encrypts, every key decrypts, so keys rotate without downtime. A sealed value is
 * `v1:<keyId>:<iv>:<ciphertext+tag>` (base64url) and is bound to its row by the associated data (the
 * row id): a ciphertext copied into another row does not open.
 *
 * @example
 * ```ts
 * const box = new SecretBox([randomBytes(32)]);
 * const sealed = box.seal(new Uint8Array([1, 2, 3]), 'credential-7');
 * box.open(sealed, 'credential-7'); // Uint8Array [1, 2, 3]
 * ```
 */
export class SecretBox {
  readonly #keys = new Map<string, Buffer>();
  #ivPool = Buffer.alloc(0);
  #ivOffset = 0;
  /** The id of the key that encrypts. */
  readonly currentKeyId: string;

  /** `keys`: 32-byte keys (or their base64), newest first. */
  constructor(keys: readonly (Uint8Array | string)[]) {
    if (keys.length === 0) throw new ConfigError('give at least one encryption key');
    for (const [index, value] of keys.entries()) {
      const key = typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.from(value);
      if (key.length !== 32)
        throw new ConfigError(
          `encryption key ${index + 1} is ${key.length} bytes, not 32: generate one with "openssl rand -base64 32"`,
        );
      this.#keys.set(encryptionKeyId(key), key);
    }
    this.currentKeyId = this.#keys.keys().next().value!;
  }

  /** Encrypts `plaintext` under the newest key, bound to `aad` (the id of the row that stores it). */
  seal(plaintext: Uint8Array, aad: string): string {
    const iv = this.#nextIv();
    const cipher = createCipheriv('aes-256-gcm', this.#keys.get(this.currentKeyId)!, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return `v1:${this.currentKeyId}:${iv.toString('base64url')}:${body.toString('base64url')}`;
  }

  /**
   * A fresh random 96-bit IV, cut from a pool filled 4,096 at a time: one random call per thousands of
   * seals keeps bulk imports fast, and every IV is still random and used once.
   */
  #nextIv(): Buffer {
    if (this.#ivOffset >= this.#ivPool.length) {
      this.#ivPool = randomBytes(12 * 4096);
      this.#ivOffset = 0;
    }
    const iv = this.#ivPool.subarray(this.#ivOffset, this.#ivOffset + 12);
    this.#ivOffset += 12;
    return iv;
  }

  /** Decrypts a value sealed for the same `aad`; throws SecretBoxError otherwise. */
  open(sealed: string, aad: string): Uint8Array {
    const [version, keyId, iv, body] = sealed.split(':');
    if (version !== 'v1' || keyId === undefined || iv === undefined || body === undefined)
      throw new SecretBoxError(`a stored secret of ${aad} is not in the v1 format`);
    const key = this.#keys.get(keyId);
    if (!key)
      throw new SecretBoxError(
        `a stored secret of ${aad} was encrypted with key ${keyId}, which is not configured: add that key to store.previousEncryptionKeys`,
      );
    const data = Buffer.from(body, 'base64url');
    if (data.length < 16) throw new SecretBoxError(`a stored secret of ${aad} is truncated`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(data.subarray(data.length - 16));
      return new Uint8Array(
        Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]),
      );
    } catch {
      throw new SecretBoxError(
        `a stored secret of ${aad} does not decrypt: it was altered or belongs to another row`,
      );
    }
  }

  /** Whether a sealed value is under an older key (`mqtt-warden store rotate-key` re-encrypts those). */
  isStale(sealed: string): boolean {
    return sealed.split(':')[1] !== this.currentKeyId;
  }
}

/** The error for a secret written while no encryption key is configured. */
export function missingEncryptionKey(what: string): ConfigError {
  return new ConfigError(
    `${what} are encrypted at rest and no encryption key is configured: set store.encryptionKey in the server config (32 random bytes in base64, e.g. from "openssl rand -base64 32", best as { env: NAME } or { file: PATH })`,
  );
}

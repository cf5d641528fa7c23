import { KeyObject, webcrypto } from 'node:crypto';
import { importJWK } from 'jose';

const HMAC_HASH: Readonly<Record<string, string>> = { HS256: 'SHA-256', HS384: 'SHA-384', HS512: 'SHA-512' };

/**
 * `key` imported once as the WebCrypto key jose verifies `algorithm` with, or undefined when it is not
 * an HMAC secret or a public KeyObject (a key resolver picks its keys per token). jose imports a raw
 * HMAC secret anew on every verification and looks a KeyObject's CryptoKey up per call; handing it
 * the CryptoKey skips both. The key's algorithm is fixed, so callers use it only when `algorithm` is
 * the one allowed: jose still refuses any other `alg` before the key is used.
 *
 * @example
 * ```ts
 * const cryptoKey = await verificationCryptoKey(secret, 'HS256');
 * await jwtVerify(token, cryptoKey ?? secret, { algorithms: ['HS256'] });
 * ```
 */
export async function verificationCryptoKey(
  key: unknown,
  algorithm: string,
): Promise<webcrypto.CryptoKey | undefined> {
  const hash = Object.hasOwn(HMAC_HASH, algorithm) ? HMAC_HASH[algorithm] : undefined;
  if (key instanceof Uint8Array && hash) {
    return webcrypto.subtle.importKey('raw', key, { name: 'HMAC', hash }, false, ['verify']);
  }
  if (key instanceof KeyObject && key.type === 'public' && !hash) {
    const imported = await importJWK(key.export({ format: 'jwk' }), algorithm);
    return imported instanceof Uint8Array ? undefined : (imported as webcrypto.CryptoKey);
  }
  return undefined;
}

import { randomBytes } from 'node:crypto';
import { ConfigError } from '@mqtt-warden/core';

/**
 * A new random key from the system CSPRNG. 32 bytes by default (enough for TLS-PSK and for
 * HMAC-SHA256 device tokens). Write it to a Mosquitto `psk_file` as `Buffer.from(key).toString('hex')`,
 * or give it to a device as base64 for SAS tokens.
 *
 * @example
 * ```ts
 * store.set('sensor-7', generatePskKey());
 * ```
 */
export function generatePskKey(bytes = 32): Uint8Array {
  if (!Number.isInteger(bytes) || bytes < 16 || bytes > 512) {
    throw new ConfigError('a PSK must have between 16 and 512 bytes');
  }
  return new Uint8Array(randomBytes(bytes));
}

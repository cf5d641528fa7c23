import { randomBytes } from 'node:crypto';
import { ConfigError } from '@mqtt-warden/core';
import { argon2Raw } from './argon2-raw.js';
import { HASH_LIMITS } from './parse-hash.js';
import { passwordBytes } from './password-bytes.js';

/** argon2id cost parameters for new hashes. */
export interface HashPasswordOptions {
  /** KiB of memory. */
  readonly memoryCost?: number;
  /** Passes over memory. */
  readonly timeCost?: number;
  readonly parallelism?: number;
  /** Bytes of output. */
  readonly hashLength?: number;
  /** Bytes of random salt. */
  readonly saltLength?: number;
}

/**
 * OWASP Password Storage Cheat Sheet's argon2id baseline: 19 MiB, 2 iterations, 1 lane
 * (equivalent alternatives: m=47104 t=1, m=12288 t=3, m=9216 t=4, m=7168 t=5).
 */
export const ARGON2ID_DEFAULTS: Required<HashPasswordOptions> = {
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
  hashLength: 32,
  saltLength: 16,
};

/**
 * Hashes a new password with argon2id into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…$…`) that
 * {@link verifyPassword}, Mosquitto 2.1 and go-auth can all verify.
 *
 * @example
 * ```ts
 * const hash = await hashPassword('correct horse battery staple');
 * ```
 */
export async function hashPassword(
  password: string | Uint8Array,
  options: HashPasswordOptions = {},
): Promise<string> {
  const o = argon2idOptions(options);
  check(o.parallelism, 'parallelism', 1, HASH_LIMITS.argon2MaxParallelism);
  check(o.memoryCost, 'memoryCost', 8 * o.parallelism, HASH_LIMITS.argon2MaxMemoryCost);
  check(o.timeCost, 'timeCost', 1, HASH_LIMITS.argon2MaxTimeCost);
  check(o.hashLength, 'hashLength', 16, HASH_LIMITS.maxKeyLength);
  check(o.saltLength, 'saltLength', 16, HASH_LIMITS.maxKeyLength);
  const salt = randomBytes(o.saltLength);
  const hash = await argon2Raw(passwordBytes(password), {
    type: 'argon2id',
    version: 19,
    memoryCost: o.memoryCost,
    timeCost: o.timeCost,
    parallelism: o.parallelism,
    hashLength: o.hashLength,
    salt,
  });
  // Written in libargon2's m,t,p order: Mosquitto 2.1 and go-auth parse that order only.
  return `$argon2id$v=19$m=${o.memoryCost},t=${o.timeCost},p=${o.parallelism}$${unpadded(salt)}$${unpadded(hash)}`;
}

/** The options with defaults filled in; an explicit `undefined` means the default too. */
export function argon2idOptions(options: HashPasswordOptions): Required<HashPasswordOptions> {
  const d = ARGON2ID_DEFAULTS;
  return {
    memoryCost: options.memoryCost ?? d.memoryCost,
    timeCost: options.timeCost ?? d.timeCost,
    parallelism: options.parallelism ?? d.parallelism,
    hashLength: options.hashLength ?? d.hashLength,
    saltLength: options.saltLength ?? d.saltLength,
  };
}

function unpadded(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

function check(value: number, name: string, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`hashPassword: ${name} must be an integer between ${min} and ${max}`);
  }
}

import { createRequire } from 'node:module';
import { WardenError } from '@mqtt-warden/core';
import type * as NodeRsArgon2 from '@node-rs/argon2';

/** Raw argon2 output for explicit parameters: the one primitive hashing and verification share. */
export interface Argon2RawParameters {
  readonly type: 'argon2d' | 'argon2i' | 'argon2id';
  readonly version: 16 | 19;
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
  readonly hashLength: number;
  readonly salt: Uint8Array;
}

// @node-rs/argon2's `const enum` values, written out: const enums cannot be imported across packages.
const ALGORITHM = { argon2d: 0, argon2i: 1, argon2id: 2 } as const;
const VERSION = { 16: 0, 19: 1 } as const;

/**
 * @node-rs/argon2 ships a prebuilt Node-API binary per platform as an optional dependency, with no install
 * script: nothing to compile, and nothing that pnpm's "build scripts skipped" default can leave half-built.
 * When no binary fits (an unsupported platform, optional dependencies omitted) this fails at load with a
 * message saying so, not at the first hash.
 */
const binding = loadBinding();

function loadBinding(): typeof NodeRsArgon2 {
  try {
    return createRequire(import.meta.url)('@node-rs/argon2');
  } catch (error) {
    throw new WardenError(
      'ERR_ARGON2_UNAVAILABLE',
      `@mqtt-warden/password: no argon2 binary for ${process.platform}-${process.arch} (Node ${process.version}) could be loaded from @node-rs/argon2: ${(error as Error).message.split('\n')[0]}. Reinstall with optional dependencies included (npm install --include=optional; pnpm and yarn include them by default).`,
      { cause: error },
    );
  }
}

/** The raw argon2 hash of `password` with exactly these parameters. */
export function argon2Raw(password: Uint8Array, p: Argon2RawParameters): Promise<Buffer> {
  return binding.hashRaw(password, {
    algorithm: ALGORITHM[p.type] as NodeRsArgon2.Algorithm,
    version: VERSION[p.version] as NodeRsArgon2.Version,
    memoryCost: p.memoryCost,
    timeCost: p.timeCost,
    parallelism: p.parallelism,
    outputLen: p.hashLength,
    salt: p.salt,
  });
}

import { decodeBase64 } from './base64.js';
import { PasswordFormatError } from './errors.js';
import { type StoredHash, storedHashSchema } from './stored-hash.js';

/** The formats {@link verifyPassword} understands, as reported by {@link identifyHash}. */
export type HashFormat =
  | 'argon2id'
  | 'argon2i'
  | 'argon2d'
  | 'bcrypt'
  | 'mosquitto-sha512'
  | 'mosquitto-pbkdf2'
  | 'go-auth-pbkdf2'
  | 'emqx-plain'
  | 'emqx-md5'
  | 'emqx-sha'
  | 'emqx-sha256'
  | 'emqx-sha512'
  | 'emqx-pbkdf2';

/**
 * Bounds on the cost parameters a stored hash may ask for. Values outside them are refused as
 * malformed: iterations of 0 would make a hash trivial, absurd ones would let one entry stall the server.
 */
export const HASH_LIMITS = {
  pbkdf2MaxIterations: 10_000_000,
  /** KiB (1 GiB). */
  argon2MaxMemoryCost: 1 << 20,
  argon2MaxTimeCost: 64,
  argon2MaxParallelism: 64,
  bcryptMaxCost: 18,
  /** Bytes of derived key or digest output accepted from a stored value. */
  maxKeyLength: 1024,
} as const;

export type Digest = 'md5' | 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';

/** A validated stored hash, ready to verify. Internal. */
export type ParsedHash =
  | {
      readonly kind: 'argon2';
      readonly format: 'argon2id' | 'argon2i' | 'argon2d';
      readonly version: 16 | 19;
      readonly memoryCost: number;
      readonly timeCost: number;
      readonly parallelism: number;
      readonly salt: Buffer;
      readonly hash: Buffer;
    }
  | { readonly kind: 'bcrypt'; readonly format: 'bcrypt'; readonly cost: number; readonly value: string }
  | {
      readonly kind: 'digest';
      readonly format: 'mosquitto-sha512' | 'emqx-md5' | 'emqx-sha' | 'emqx-sha256' | 'emqx-sha512';
      readonly digest: Digest;
      /** Input is `prefix‖password‖suffix`. */
      readonly prefix: Buffer;
      readonly suffix: Buffer;
      readonly hash: Buffer;
    }
  | {
      readonly kind: 'pbkdf2';
      readonly format: 'mosquitto-pbkdf2' | 'go-auth-pbkdf2' | 'emqx-pbkdf2';
      readonly digest: Digest;
      readonly iterations: number;
      readonly salt: Buffer;
      readonly hash: Buffer;
    }
  | {
      readonly kind: 'plain';
      readonly format: 'emqx-plain';
      /** The stored text is `prefix‖password‖suffix` in clear. */
      readonly prefix: Buffer;
      readonly suffix: Buffer;
      readonly hash: Buffer;
    };

const DIGEST_SIZE: Record<Digest, number> = {
  md5: 16,
  sha1: 20,
  sha224: 28,
  sha256: 32,
  sha384: 48,
  sha512: 64,
};

const ARGON2 = /^\$(argon2id|argon2i|argon2d)\$(?:v=([^$]*)\$)?([^$]*)\$([^$]*)\$([^$]*)$/;
const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;
const MOSQUITTO_SHA512 = /^\$6\$([^$]*)\$([^$]*)$/;
const MOSQUITTO_PBKDF2 = /^\$7\$([^$]*)\$([^$]*)\$([^$]*)$/;
// go-auth splits on `$` dropping empty fields, so it tolerates a leading `$`.
const GO_AUTH_PBKDF2 = /^\$?PBKDF2\$(sha256|sha512)\$([^$]*)\$([^$]*)\$([^$]*)$/;
const GO_AUTH_PHC = /^\$pbkdf2-sha512\$([^$]*)\$([^$]*)\$([^$]*)$/;

/** Parses and validates a stored hash; throws {@link PasswordFormatError} for anything unknown or malformed. */
export function parseHash(stored: string | StoredHash): ParsedHash {
  if (typeof stored === 'string') return parseString(stored, 'base64');
  if (typeof stored !== 'object' || stored === null) {
    throw new PasswordFormatError('a stored password hash must be a string or a StoredHash object');
  }
  const result = storedHashSchema.safeParse(stored);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path.length ? ` (field ${issue.path.join('.')})` : '';
    throw new PasswordFormatError(`invalid StoredHash object${field}: ${issue?.message ?? 'malformed'}`);
  }
  return parseObject(result.data);
}

function parseString(stored: string, saltEncoding: 'base64' | 'utf-8'): ParsedHash {
  let m = ARGON2.exec(stored);
  if (m) return parseArgon2(m);
  m = BCRYPT.exec(stored);
  if (m) {
    return {
      kind: 'bcrypt',
      format: 'bcrypt',
      cost: range(Number(m[1]), 'bcrypt cost', 4, HASH_LIMITS.bcryptMaxCost),
      value: stored,
    };
  }
  m = MOSQUITTO_SHA512.exec(stored);
  if (m) {
    return {
      kind: 'digest',
      format: 'mosquitto-sha512',
      digest: 'sha512',
      prefix: Buffer.alloc(0),
      suffix: mosquittoSalt(m[1]!, '$6$'),
      hash: sized(decodeBase64(m[2]!, 'padded', '$6$ hash'), '$6$ hash', [64]),
    };
  }
  m = MOSQUITTO_PBKDF2.exec(stored);
  if (m) {
    return {
      kind: 'pbkdf2',
      format: 'mosquitto-pbkdf2',
      digest: 'sha512',
      iterations: count(m[1]!, '$7$ iterations', 1, HASH_LIMITS.pbkdf2MaxIterations),
      salt: mosquittoSalt(m[2]!, '$7$'),
      hash: sized(decodeBase64(m[3]!, 'padded', '$7$ hash'), '$7$ hash', [64]),
    };
  }
  m = GO_AUTH_PBKDF2.exec(stored);
  if (m) {
    return {
      kind: 'pbkdf2',
      format: 'go-auth-pbkdf2',
      digest: m[1] as 'sha256' | 'sha512',
      iterations: count(m[2]!, 'PBKDF2 iterations', 1, HASH_LIMITS.pbkdf2MaxIterations),
      salt: goAuthSalt(m[3]!, saltEncoding, 'padded'),
      hash: keyLength(decodeBase64(m[4]!, 'padded', 'PBKDF2 hash'), 'PBKDF2 hash'),
    };
  }
  m = GO_AUTH_PHC.exec(stored);
  if (m) return parseGoAuthPhc(m, saltEncoding);
  throw new PasswordFormatError(
    'unknown password hash format; expected $argon2id$…, $2b$…, $6$…, $7$…, PBKDF2$… or $pbkdf2-sha512$…',
  );
}

function parseArgon2(m: RegExpExecArray): ParsedHash {
  const format = m[1] as 'argon2id' | 'argon2i' | 'argon2d';
  // PHC: an absent version means 0x10, the first published Argon2.
  const version = m[2] === undefined ? 16 : count(m[2], `${format} version`, 16, 19);
  if (version !== 16 && version !== 19) throw new PasswordFormatError(`${format} version must be 16 or 19`);
  const params = parseParams(m[3]!, ['m', 't', 'p'], format);
  const parallelism = count(params.p!, `${format} p`, 1, HASH_LIMITS.argon2MaxParallelism);
  return {
    kind: 'argon2',
    format,
    version,
    memoryCost: count(params.m!, `${format} m`, 8 * parallelism, HASH_LIMITS.argon2MaxMemoryCost),
    timeCost: count(params.t!, `${format} t`, 1, HASH_LIMITS.argon2MaxTimeCost),
    parallelism,
    salt: between(decodeBase64(m[4]!, 'unpadded', `${format} salt`), `${format} salt`, 8),
    hash: keyLength(decodeBase64(m[5]!, 'unpadded', `${format} hash`), `${format} hash`),
  };
}

function parseGoAuthPhc(m: RegExpExecArray, saltEncoding: 'base64' | 'utf-8'): ParsedHash {
  const params = parseParams(m[1]!, ['i', 'l'], '$pbkdf2-sha512$');
  const length = count(params.l!, '$pbkdf2-sha512$ l', 16, HASH_LIMITS.maxKeyLength);
  return {
    kind: 'pbkdf2',
    format: 'go-auth-pbkdf2',
    digest: 'sha512',
    iterations: count(params.i!, '$pbkdf2-sha512$ i', 1, HASH_LIMITS.pbkdf2MaxIterations),
    salt: goAuthSalt(m[2]!, saltEncoding, 'unpadded'),
    hash: sized(decodeBase64(m[3]!, 'unpadded', '$pbkdf2-sha512$ hash'), '$pbkdf2-sha512$ hash', [length]),
  };
}

function parseObject(stored: StoredHash): ParsedHash {
  switch (stored.algorithm) {
    case 'plain':
      return {
        kind: 'plain',
        format: 'emqx-plain',
        ...saltAround(stored),
        hash: Buffer.from(stored.hash, 'utf8'),
      };
    case 'md5':
    case 'sha':
    case 'sha256':
    case 'sha512': {
      const digest = stored.algorithm === 'sha' ? 'sha1' : stored.algorithm;
      return {
        kind: 'digest',
        format: `emqx-${stored.algorithm}`,
        digest,
        ...saltAround(stored),
        hash: hex(stored.hash, DIGEST_SIZE[digest], `${stored.algorithm} hash`),
      };
    }
    case 'pbkdf2': {
      const digest = stored.macFun === 'sha' ? 'sha1' : stored.macFun;
      const length = stored.dkLength ?? DIGEST_SIZE[digest];
      if (length < 1 || length > HASH_LIMITS.maxKeyLength) {
        throw new PasswordFormatError(`pbkdf2 dkLength must be between 1 and ${HASH_LIMITS.maxKeyLength}`);
      }
      return {
        kind: 'pbkdf2',
        format: 'emqx-pbkdf2',
        digest,
        iterations: range(stored.iterations, 'pbkdf2 iterations', 1, HASH_LIMITS.pbkdf2MaxIterations),
        salt: Buffer.from(stored.salt, 'utf8'),
        hash: hex(stored.hash, length, 'pbkdf2 hash'),
      };
    }
    case 'bcrypt': {
      const parsed = parseString(stored.hash, 'base64');
      if (parsed.kind !== 'bcrypt')
        throw new PasswordFormatError('bcrypt hash must be a $2a$/$2b$/$2y$ string');
      return parsed;
    }
    case 'go-auth-pbkdf2': {
      const parsed = parseString(stored.hash, stored.saltEncoding);
      if (parsed.format !== 'go-auth-pbkdf2') {
        throw new PasswordFormatError('go-auth-pbkdf2 hash must be a PBKDF2$… or $pbkdf2-sha512$… string');
      }
      return parsed;
    }
  }
}

/** EMQX's `salt_position`: the salt (used as text) goes before (default) or after the password, or nowhere. */
function saltAround(stored: { readonly salt?: string; readonly saltPosition?: string }): {
  prefix: Buffer;
  suffix: Buffer;
} {
  const salt = Buffer.from(stored.salt ?? '', 'utf8');
  const position = stored.saltPosition ?? 'prefix';
  const none = Buffer.alloc(0);
  return { prefix: position === 'prefix' ? salt : none, suffix: position === 'suffix' ? salt : none };
}

/** `k=v,k=v` in any order; every key required exactly once, no others. */
function parseParams(text: string, keys: readonly string[], what: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq);
    if (eq < 1 || !keys.includes(key) || Object.hasOwn(params, key)) {
      throw new PasswordFormatError(`${what} parameters must be ${keys.map((k) => `${k}=…`).join(',')}`);
    }
    params[key] = part.slice(eq + 1);
  }
  for (const key of keys) {
    if (!Object.hasOwn(params, key)) throw new PasswordFormatError(`${what} is missing parameter ${key}`);
  }
  return params;
}

function count(text: string, what: string, min: number, max: number): number {
  if (!/^(0|[1-9]\d{0,9})$/.test(text)) throw new PasswordFormatError(`${what} must be a decimal number`);
  return range(Number(text), what, min, max);
}

function range(value: number, what: string, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new PasswordFormatError(`${what} must be between ${min} and ${max}`);
  }
  return value;
}

function mosquittoSalt(text: string, what: string): Buffer {
  // 2.0 writes 12-byte salts, 2.1 writes 64-byte salts; both versions' verifiers accept either.
  return sized(decodeBase64(text, 'padded', `${what} salt`), `${what} salt`, [12, 64]);
}

function goAuthSalt(text: string, encoding: 'base64' | 'utf-8', padding: 'padded' | 'unpadded'): Buffer {
  const salt = encoding === 'utf-8' ? Buffer.from(text, 'utf8') : decodeBase64(text, padding, 'PBKDF2 salt');
  return between(salt, 'PBKDF2 salt', 1);
}

function sized(bytes: Buffer, what: string, lengths: readonly number[]): Buffer {
  if (!lengths.includes(bytes.length)) {
    throw new PasswordFormatError(`${what} must be ${lengths.join(' or ')} bytes, not ${bytes.length}`);
  }
  return bytes;
}

function between(bytes: Buffer, what: string, min: number): Buffer {
  if (bytes.length < min || bytes.length > HASH_LIMITS.maxKeyLength) {
    throw new PasswordFormatError(`${what} must be ${min} to ${HASH_LIMITS.maxKeyLength} bytes`);
  }
  return bytes;
}

function keyLength(bytes: Buffer, what: string): Buffer {
  return between(bytes, what, 16);
}

function hex(text: string, length: number, what: string): Buffer {
  // EMQX writes lowercase hex and, since 5.8.5, compares case-insensitively.
  if (text.length !== 2 * length || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new PasswordFormatError(`${what} must be ${2 * length} hex characters`);
  }
  return Buffer.from(text, 'hex');
}

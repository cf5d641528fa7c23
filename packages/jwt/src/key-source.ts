import { createPublicKey, type KeyObject } from 'node:crypto';
import { ConfigError } from '@mqtt-warden/core';
import { createLocalJWKSet, type JSONWebKeySet, type JWK } from 'jose';
import { createRemoteKeySet, type KeyResolver, type RemoteKeySetOptions } from './remote-key-set.js';

/**
 * Where verification keys come from:
 * - `secret`: an HMAC secret (HS256/384/512), at least 32 bytes (RFC 7518 §3.2); strings are UTF-8;
 * - `publicKey`: one PEM (SPKI or certificate) or JWK public key;
 * - `jwksUrl`: a remote JWKS (refetched after rotation, last good set kept on failure);
 * - `jwks`: a local JWK Set, or a function returning the current one (e.g. a device token issuer's).
 */
export type KeySource =
  | { readonly secret: string | Uint8Array }
  | { readonly publicKey: string | JWK }
  | ({ readonly jwksUrl: string | URL } & RemoteKeySetOptions)
  | { readonly jwks: JSONWebKeySet | (() => JSONWebKeySet) };

/** A key source ready for jose: the key (or resolver) and the algorithms it may be used with. */
export interface ResolvedKeySource {
  readonly key: Uint8Array | KeyObject | KeyResolver;
  readonly algorithms: readonly string[];
}

const HMAC = ['HS256', 'HS384', 'HS512'];
const RSA = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const EC: Readonly<Record<string, readonly string[]>> = {
  prime256v1: ['ES256'],
  secp384r1: ['ES384'],
  secp521r1: ['ES512'],
};
const ASYMMETRIC = [...RSA, 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/**
 * Turns a {@link KeySource} into a jose key and the algorithms that key type permits, narrowed to
 * `algorithms` when given. Throws a ConfigError for `none`, for an HMAC algorithm with an asymmetric
 * key (the RS256→HS256 confusion attack), and for an algorithm the key cannot verify.
 *
 * @example
 * ```ts
 * const { key, algorithms } = resolveKeySource({ publicKey: pem }, ['RS256']);
 * ```
 */
export function resolveKeySource(source: KeySource, algorithms?: readonly string[]): ResolvedKeySource {
  let key: ResolvedKeySource['key'];
  let permitted: readonly string[];
  if ('secret' in source) {
    key = typeof source.secret === 'string' ? new TextEncoder().encode(source.secret) : source.secret;
    if (key.length < 32) {
      throw new ConfigError(
        `the HMAC secret is ${key.length} bytes; use at least 32 random bytes (RFC 7518 §3.2)`,
      );
    }
    permitted = HMAC;
  } else if ('publicKey' in source) {
    key = importPublicKey(source.publicKey);
    permitted = algorithmsFor(key);
  } else if ('jwksUrl' in source) {
    const url = new URL(source.jwksUrl);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new ConfigError(`jwksUrl must be an http(s) URL, got ${url.protocol}`);
    }
    key = createRemoteKeySet(url, source);
    permitted = ASYMMETRIC;
  } else {
    key = localKeySet(source.jwks);
    permitted = ASYMMETRIC;
  }
  if (!algorithms) return { key, algorithms: permitted };
  if (algorithms.length === 0) throw new ConfigError('algorithms must list at least one algorithm');
  for (const alg of algorithms) {
    if (!permitted.includes(alg)) {
      throw new ConfigError(
        alg.toLowerCase() === 'none'
          ? 'algorithm "none" is never accepted'
          : `algorithm ${alg} cannot be used with this key; allowed: ${permitted.join(', ')}`,
      );
    }
  }
  return { key, algorithms: [...algorithms] };
}

function importPublicKey(input: string | JWK): KeyObject {
  if (typeof input !== 'string' && input.kty === 'oct') {
    throw new ConfigError('a symmetric JWK (kty "oct") is a secret: pass it as `secret`, not `publicKey`');
  }
  try {
    return typeof input === 'string'
      ? createPublicKey(input)
      : createPublicKey({ key: input as import('node:crypto').JsonWebKey, format: 'jwk' });
  } catch (cause) {
    throw new ConfigError('publicKey is not a valid PEM or JWK public key', { cause });
  }
}

function algorithmsFor(key: KeyObject): readonly string[] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return RSA;
    case 'rsa-pss':
      return RSA.filter((a) => a.startsWith('PS'));
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
      const algs = EC[curve];
      if (algs) return algs;
      throw new ConfigError(`EC curve ${curve} is not supported; use P-256, P-384 or P-521`);
    }
    case 'ed25519':
      return ['EdDSA', 'Ed25519'];
    default:
      throw new ConfigError(`key type ${key.asymmetricKeyType} is not supported for JWT verification`);
  }
}

function localKeySet(jwks: JSONWebKeySet | (() => JSONWebKeySet)): KeyResolver {
  if (typeof jwks !== 'function') return createLocalJWKSet(jwks) as KeyResolver;
  // Rebuild the resolver only when the provider hands out a new set (after a rotation).
  let current: JSONWebKeySet | undefined;
  let resolve: KeyResolver | undefined;
  return (header, token) => {
    const set = jwks();
    if (set !== current || !resolve) {
      current = set;
      resolve = createLocalJWKSet(set) as KeyResolver;
    }
    return resolve(header, token);
  };
}

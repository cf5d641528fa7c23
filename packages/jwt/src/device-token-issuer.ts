import { randomUUID } from 'node:crypto';
import { ConfigError, InvalidInputError, type Principal } from '@mqtt-warden/core';
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  SignJWT,
} from 'jose';

/** Options of {@link createDeviceTokenIssuer}. */
export interface DeviceTokenIssuerOptions {
  /** `iss` of issued tokens; verifiers must expect it. */
  readonly issuer: string;
  /** `aud` of issued tokens. Default `mqtt`. */
  readonly audience?: string;
  /** Token lifetime. Default 600 s. */
  readonly ttlSeconds?: number;
  /** Signing algorithm. Default ES256. */
  readonly algorithm?: 'ES256' | 'ES384' | 'ES512' | 'EdDSA' | 'RS256' | 'PS256';
  /** Start a new signing key once the current one is this old (checked when issuing). Default 1 day. */
  readonly rotateAfterSeconds?: number;
  /** Keep a retired key published this long past the last token it signed can expire. Default 60 s. */
  readonly overlapSeconds?: number;
  /**
   * Where signing keys are kept and shared (the registry): every replica signs with the newest and
   * publishes all of them, a key is created only when none is current, and keys survive restarts.
   * Default: keys in memory, one set per process.
   */
  readonly keyStore?: DeviceTokenKeyStore;
  /** Clock in ms; tests inject one. */
  readonly now?: () => number;
}

/** A signing key as a {@link DeviceTokenKeyStore} keeps it (the private JWK is a secret: encrypt it at rest). */
export interface SharedSigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
  readonly createdAt: Date;
}

/** Shared signing keys; `add` must keep the existing key when one with the same kid exists. */
export interface DeviceTokenKeyStore {
  list(): Promise<readonly SharedSigningKey[]>;
  add(key: SharedSigningKey): Promise<void>;
}

/** What the token endpoint returns to the device. */
export interface DeviceTokenResponse {
  readonly token: string;
  /** Seconds until the token expires. */
  readonly expiresIn: number;
  readonly tokenType: 'Bearer';
}

export interface DeviceTokenIssuer {
  /**
   * The token endpoint's logic: exchanges an authenticated principal for a short-lived JWT carrying
   * `sub`, `clientid`, `username`, `roles`, `groups` and `amr` (how the device proved itself).
   * The token never outlives the principal's own `expiresAt`. Superuser status is not carried over.
   */
  issue(principal: Principal): Promise<DeviceTokenResponse>;
  /** The public keys to publish (current key plus retired keys whose tokens may still be valid). */
  jwks(): JSONWebKeySet;
  /** Starts signing with a new key now; the old one stays in {@link jwks} until its tokens expired. */
  rotate(): Promise<void>;
  /** Reads the keys of the `keyStore` again (another replica added one). */
  refresh(): Promise<void>;
}

interface SigningKey {
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
  readonly createdAt: number;
  /** Set when retired: the last moment a token signed by this key can be valid, in ms. */
  validUntil?: number;
}

/**
 * Short-lived device tokens: a device that proved itself once (password, PSK token, certificate)
 * gets a signed JWT to use on later connects. Keys are generated in memory, published as a JWKS and
 * rotated with an overlap window; verify the tokens with `createJwtAuthenticator({ keys: { jwks: () => issuer.jwks() }, … })`
 * or, from another process, with `keys: { jwksUrl }` pointing at wherever the server serves {@link DeviceTokenIssuer.jwks}.
 *
 * @example
 * ```ts
 * const issuer = await createDeviceTokenIssuer({ issuer: 'https://mqtt.example.com', ttlSeconds: 900 });
 * const result = await guard.authenticate(request); // password, psk or x509
 * if (result.ok) reply(await issuer.issue(result.principal)); // { token, expiresIn, tokenType }
 * ```
 */
export async function createDeviceTokenIssuer(options: DeviceTokenIssuerOptions): Promise<DeviceTokenIssuer> {
  const now = options.now ?? Date.now;
  const algorithm = options.algorithm ?? 'ES256';
  const ttlMs = seconds(options.ttlSeconds ?? 600, 'ttlSeconds') * 1000;
  const rotateAfterMs = seconds(options.rotateAfterSeconds ?? 86_400, 'rotateAfterSeconds') * 1000;
  const overlapMs = seconds(options.overlapSeconds ?? 60, 'overlapSeconds', true) * 1000;
  const audience = options.audience ?? 'mqtt';
  const { keyStore } = options;
  let keys: SigningKey[] = [];
  let published: JSONWebKeySet | undefined;
  if (keyStore) {
    await refresh();
    if (keys.length === 0 || now() - keys[0]!.createdAt >= rotateAfterMs) await rotate();
  } else keys = [await newKey()];

  async function newKey(): Promise<SigningKey> {
    const { privateKey, publicKey } = await generateKeyPair(algorithm, { extractable: true });
    const jwk = await exportJWK(publicKey);
    jwk.kid = await calculateJwkThumbprint(jwk);
    jwk.alg = algorithm;
    jwk.use = 'sig';
    if (keyStore) {
      await keyStore.add({
        kid: jwk.kid,
        alg: algorithm,
        privateJwk: await exportJWK(privateKey),
        publicJwk: jwk,
        createdAt: new Date(now()),
      });
    }
    return { privateKey, jwk, createdAt: now() };
  }

  /** The shared keys, newest first; each retires when the next one was created (same on every replica). */
  async function refresh() {
    if (!keyStore) return;
    const shared = (await keyStore.list())
      .filter((key) => key.alg === algorithm)
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.kid < b.kid ? -1 : 1));
    const t = now();
    const loaded: SigningKey[] = [];
    for (const [index, key] of shared.entries()) {
      const successor = shared[index - 1];
      const validUntil = successor && successor.createdAt.getTime() + ttlMs + overlapMs;
      if (validUntil !== undefined && validUntil <= t) continue;
      const privateKey = (await importJWK({ ...key.privateJwk, alg: algorithm }, algorithm)) as CryptoKey;
      const jwk: JWK = { ...key.publicJwk, kid: key.kid, alg: algorithm, use: 'sig' };
      loaded.push({ privateKey, jwk, createdAt: key.createdAt.getTime(), validUntil });
    }
    keys = loaded;
    published = undefined;
  }

  async function rotate() {
    const next = await newKey();
    if (keyStore) return refresh();
    const t = now();
    for (const key of keys) key.validUntil ??= t + ttlMs + overlapMs;
    keys = [next, ...keys];
    published = undefined;
  }

  return {
    async issue(principal) {
      const t = now();
      if (principal.expiresAt !== undefined && principal.expiresAt <= t) {
        throw new InvalidInputError("cannot issue a device token: the principal's credentials have expired");
      }
      if (t - keys[0]!.createdAt >= rotateAfterMs) await rotate();
      const current = keys[0]!;
      const expiresAt = Math.min(t + ttlMs, principal.expiresAt ?? Number.POSITIVE_INFINITY);
      const exp = Math.floor(expiresAt / 1000);
      const token = await new SignJWT({
        clientid: principal.clientId,
        ...(principal.username !== undefined ? { username: principal.username } : {}),
        roles: [...principal.roles],
        ...(principal.groups ? { groups: [...principal.groups] } : {}),
        amr: [principal.method],
      })
        .setProtectedHeader({ alg: algorithm, kid: current.jwk.kid, typ: 'JWT' })
        .setSubject(principal.id)
        .setIssuer(options.issuer)
        .setAudience(audience)
        .setIssuedAt(Math.floor(t / 1000))
        .setExpirationTime(exp)
        .setJti(randomUUID())
        .sign(current.privateKey);
      return { token, expiresIn: Math.max(0, exp - Math.floor(t / 1000)), tokenType: 'Bearer' };
    },

    jwks() {
      const t = now();
      const live = keys.filter((k) => k.validUntil === undefined || k.validUntil > t);
      if (live.length !== keys.length) {
        keys = live;
        published = undefined;
      }
      // The same object until the set changes, so verifiers can cache their key lookup on it.
      published ??= { keys: keys.map((k) => ({ ...k.jwk })) };
      return published;
    },

    rotate,
    refresh,
  };
}

function seconds(value: number, name: string, zeroOk = false): number {
  if (!Number.isFinite(value) || value < 0 || (!zeroOk && value === 0)) {
    throw new ConfigError(`${name} must be a positive number of seconds`);
  }
  return value;
}

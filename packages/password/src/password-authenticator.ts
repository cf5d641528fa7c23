import { createHmac, randomBytes } from 'node:crypto';
import type { Authenticator, AuthOutcome, ConnectRequest, GuardLogger } from '@mqtt-warden/core';
import { errorCode } from '@mqtt-warden/core';
import { LRUCache } from 'lru-cache';
import type { CredentialStore, UserEntry } from './credential-store.js';
import { PasswordFormatError } from './errors.js';
import { type HashPasswordOptions, hashPassword } from './hash-password.js';
import { needsRehash } from './needs-rehash.js';
import { type ParsedHash, parseHash } from './parse-hash.js';
import { passwordBytes } from './password-bytes.js';
import { checkPasswordAge, type PasswordRules } from './password-rules.js';
import type { StoredHash } from './stored-hash.js';
import { userPrincipal } from './user-principal.js';
import { VerificationLimiter, type VerificationLimits } from './verification-limiter.js';
import { verifyParsed } from './verify-password.js';

export interface PasswordAuthenticatorOptions {
  readonly store: CredentialStore;
  /**
   * What to answer for a username the store does not know (after the same work as a wrong password):
   * `deny` (default) or `ignore`, so a later authenticator in the chain may know the user.
   */
  readonly unknownUser?: 'deny' | 'ignore';
  /**
   * Cache of successful verifications, keyed by an HMAC of username and password under a random
   * per-process key (never the password). Defaults: 10,000 entries, 30 s. `false` disables it.
   */
  readonly cache?: false | { readonly max?: number; readonly ttlMs?: number };
  /** `maxAgeDays` denies (reason `expired`) a correct password older than that. */
  readonly rules?: Pick<PasswordRules, 'maxAgeDays'>;
  /**
   * After a successful login with a hash that {@link needsRehash}, store an argon2id hash through
   * `store.updateHash` (when the store has it). Default false; pass argon2id options to set the target.
   */
  readonly rehash?: boolean | HashPasswordOptions;
  /**
   * Bounds on hash verifications running and waiting, taking turns between remote addresses (see
   * {@link VerificationLimiter}); an attempt that cannot get a turn in time is answered `unavailable`.
   * On by default (4 at once, 3 s wait); `false` turns it off.
   */
  readonly limits?: false | VerificationLimits;
  readonly logger?: GuardLogger;
  /** Clock in ms, for tests. */
  readonly now?: () => number;
}

/** The `password` authenticator; always answers asynchronously and always proves the username. */
export interface PasswordAuthenticator extends Authenticator {
  readonly provesUsername: true;
  authenticate(request: ConnectRequest): Promise<AuthOutcome>;
}

const BAD = { outcome: 'deny', reason: 'bad-credentials', message: 'bad username or password' } as const;
const IGNORE = { outcome: 'ignore' } as const;

/**
 * The `password` authenticator: checks the CONNECT username and password against a credential store.
 * Allows with a principal (method `password`; username, roles, groups, attributes, superuser from the
 * store entry the password proved, so the username is always the CONNECT one: `provesUsername`),
 * denies `bad-credentials`, or ignores a CONNECT without username or password so the next authenticator
 * (JWT, x509…) can try. An unknown username costs the same time as a wrong password, whatever the
 * users' hash formats: the password is verified against a dummy of the store's slowest format (measured
 * once per store version), and a user whose hash is of another format pays for that dummy too, alongside
 * (in parallel) its own check. Legacy formats thus cost as much as the best one until `rehash` upgrades them.
 *
 * @example
 * ```ts
 * const passwords = createPasswordAuthenticator({ store: await openFileStore({ path: 'users.yaml' }) });
 * const guard = createGuard({ authenticators: [passwords, jwt], authorizer: policy });
 * ```
 */
export function createPasswordAuthenticator(options: PasswordAuthenticatorOptions): PasswordAuthenticator {
  const { store, logger } = options;
  const now = options.now ?? Date.now;
  const rules = options.rules ?? {};
  const rehashTarget = options.rehash === true ? {} : options.rehash || undefined;
  const key = randomBytes(32);
  const cache =
    options.cache === false
      ? undefined
      : new LRUCache<string, string | StoredHash>({
          max: options.cache?.max ?? 10_000,
          ttl: options.cache?.ttlMs ?? 30_000,
        });
  const inflight = new Map<string, { hash: string | StoredHash; result: Promise<boolean> }>();
  const limiter = options.limits === false ? undefined : new VerificationLimiter(options.limits);
  let dummy: Promise<Dummy> | undefined;
  store.onChange(() => {
    cache?.clear();
    dummy = undefined;
  });

  function cacheKey(username: string, password: Uint8Array): string {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(Buffer.byteLength(username));
    return createHmac('sha256', key).update(length).update(username).update(password).digest('base64');
  }

  /**
   * One verification, in its turn, costing at least the dummy's time: a hash of another format than the
   * dummy's is checked alongside the dummy, so that no format answers faster than an unknown user.
   */
  function check(source: string, password: Buffer, parsed: ParsedHash | undefined): Promise<boolean> {
    const run = async () => {
      // A failed pick is not kept: the next verification tries again.
      dummy ??= pickDummy(store).catch((error: unknown) => {
        dummy = undefined;
        throw error;
      });
      const padding = await dummy;
      if (parsed === undefined) return verifyParsed(password, padding.parsed).then(() => false);
      if (costKey(parsed) === padding.key) return verifyParsed(password, parsed);
      const [ok] = await Promise.all([
        verifyParsed(password, parsed),
        verifyParsed(password, padding.parsed),
      ]);
      return ok;
    };
    return limiter ? limiter.run(source, run) : run();
  }

  async function verify(
    hash: string | StoredHash,
    password: Buffer,
    key: string | undefined,
    source: string,
  ): Promise<boolean> {
    if (key === undefined) return check(source, password, parseHash(hash));
    if (cache?.get(key) === hash) return true;
    // In a reconnect storm a device often retries before its first check has finished: identical
    // credentials against the same hash share one verification instead of each paying for it.
    const running = inflight.get(key);
    if (running?.hash === hash) return running.result;
    const result = check(source, password, parseHash(hash));
    inflight.set(key, { hash, result });
    try {
      const ok = await result;
      if (ok) cache?.set(key, hash);
      return ok;
    } finally {
      if (inflight.get(key)?.result === result) inflight.delete(key);
    }
  }

  function rehash(entry: UserEntry, password: Buffer): void {
    if (!rehashTarget || !store.updateHash || !needsRehash(entry.hash, rehashTarget)) return;
    const update = store.updateHash.bind(store);
    hashPassword(password, rehashTarget)
      .then((hash) => update(entry.username, hash))
      .catch((error: unknown) => {
        logger?.warn({ username: entry.username, code: errorCode(error) }, 'password rehash failed');
      });
  }

  return {
    name: 'password',
    provesUsername: true,
    async authenticate(request): Promise<AuthOutcome> {
      const { username } = request;
      if (username === undefined || username === '' || request.password === undefined) return IGNORE;
      const password = passwordBytes(request.password);
      // Verifications take turns by remote address (by username when the broker gives none).
      const source = request.transport.remoteAddress ?? `user:${username}`;
      const found = await store.get(username);
      // A store that matched another spelling of the name must not prove a username the client did not send.
      const entry = found?.username === username ? found : undefined;
      if (!entry) {
        await check(source, password, undefined);
        return options.unknownUser === 'ignore' ? IGNORE : BAD;
      }
      let proved: string | StoredHash | undefined;
      try {
        const key = cache ? cacheKey(username, password) : undefined;
        // The hashes of an overlapping rotation, in turn: the first that matches proves the password.
        for (const hash of [entry.hash, ...(entry.otherHashes ?? [])]) {
          if (await verify(hash, password, key, source)) {
            proved = hash;
            break;
          }
        }
      } catch (error) {
        if (!(error instanceof PasswordFormatError)) throw error;
        logger?.error({ username, code: error.code }, 'stored password hash is unusable; denying');
        return { outcome: 'deny', reason: 'error', message: 'stored credentials are unusable' };
      }
      if (proved === undefined) return BAD;
      if (entry.disabled) return { outcome: 'deny', reason: 'not-authorized', message: 'user is disabled' };
      if (entry.clientIds && !entry.clientIds.includes(request.clientId)) {
        return {
          outcome: 'deny',
          reason: 'not-authorized',
          message: 'this client id is not registered for the user',
        };
      }
      const age = checkPasswordAge(entry.passwordChangedAt, rules, now());
      if (age.expired) return { outcome: 'deny', reason: 'expired', message: age.reason };
      store.recordUse?.(entry, proved);
      if (proved === entry.hash) rehash(entry, password);
      const { remoteAddress, tls } = request.transport;
      return {
        outcome: 'allow',
        principal: userPrincipal(entry, { clientId: request.clientId, remoteAddress, tls }),
      };
    },
  };
}

interface Dummy {
  /** A hash of the store's slowest format whose digest is random: it never matches. */
  readonly parsed: ParsedHash;
  readonly key: string;
}

/**
 * The dummy: a hash of the slowest format in the store, by one timed verification of each distinct
 * format and cost (the 16 most common), so that every user's check can be made to take at least as long.
 * An empty store gets an argon2id default.
 */
async function pickDummy(store: CredentialStore): Promise<Dummy> {
  const counts = new Map<string, { parsed: ParsedHash; n: number }>();
  for (const entry of store.entries()) {
    let parsed: ParsedHash;
    try {
      parsed = parseHash(entry.hash);
    } catch {
      continue;
    }
    const k = costKey(parsed);
    const seen = counts.get(k);
    if (seen) seen.n++;
    else counts.set(k, { parsed, n: 1 });
  }
  const candidates = [...counts.values()].sort((a, b) => b.n - a.n).slice(0, 16);
  if (candidates.length === 0)
    candidates.push({ parsed: parseHash(await hashPassword(randomBytes(16))), n: 0 });
  let slowest = candidates[0]?.parsed as ParsedHash;
  let most = -1;
  for (const { parsed } of candidates) {
    let ms = Number.POSITIVE_INFINITY;
    // The faster of two runs: the first may include warming up the hash's code.
    for (let run = 0; run < 2; run++) {
      const start = performance.now();
      await verifyParsed(randomBytes(16), parsed);
      ms = Math.min(ms, performance.now() - start);
    }
    if (ms > most) [slowest, most] = [parsed, ms];
  }
  const parsed = slowest.kind === 'bcrypt' ? slowest : { ...slowest, hash: randomBytes(slowest.hash.length) };
  return { parsed, key: costKey(parsed) };
}

function costKey(p: ParsedHash): string {
  switch (p.kind) {
    case 'argon2':
      return `${p.format}:${p.version}:${p.memoryCost}:${p.timeCost}:${p.parallelism}:${p.hash.length}`;
    case 'bcrypt':
      return `bcrypt:${p.cost}`;
    case 'pbkdf2':
      return `${p.format}:${p.digest}:${p.iterations}:${p.hash.length}`;
    default:
      return p.format;
  }
}

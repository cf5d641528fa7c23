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
  readonly logger?: GuardLogger;
  /** Clock in ms, for tests. */
  readonly now?: () => number;
}

/** The `password` authenticator; always answers asynchronously. */
export interface PasswordAuthenticator extends Authenticator {
  authenticate(request: ConnectRequest): Promise<AuthOutcome>;
}

const BAD = { outcome: 'deny', reason: 'bad-credentials', message: 'bad username or password' } as const;
const IGNORE = { outcome: 'ignore' } as const;

/**
 * The `password` authenticator: checks the CONNECT username and password against a credential store.
 * Allows with a principal (method `password`; roles, groups, attributes, superuser from the entry),
 * denies `bad-credentials`, or ignores a CONNECT without username or password so the next authenticator
 * (JWT, x509…) can try. An unknown username costs the same time as a wrong password: the password is
 * verified against a dummy of the store's most common hash kind and cost.
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
  let dummy: Promise<ParsedHash> | undefined;
  store.onChange(() => {
    cache?.clear();
    dummy = undefined;
  });

  function cacheKey(username: string, password: Uint8Array): string {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(Buffer.byteLength(username));
    return createHmac('sha256', key).update(length).update(username).update(password).digest('base64');
  }

  async function verify(entry: UserEntry, password: Buffer, key: string | undefined): Promise<boolean> {
    if (key === undefined) return verifyParsed(password, parseHash(entry.hash));
    if (cache?.get(key) === entry.hash) return true;
    // In a reconnect storm a device often retries before its first check has finished: identical
    // credentials against the same hash share one verification instead of each paying for it.
    const running = inflight.get(key);
    if (running?.hash === entry.hash) return running.result;
    const result = verifyParsed(password, parseHash(entry.hash));
    inflight.set(key, { hash: entry.hash, result });
    try {
      const ok = await result;
      if (ok) cache?.set(key, entry.hash);
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
    async authenticate(request): Promise<AuthOutcome> {
      const { username } = request;
      if (username === undefined || username === '' || request.password === undefined) return IGNORE;
      const password = passwordBytes(request.password);
      const entry = await store.get(username);
      if (!entry) {
        dummy ??= pickDummy(store);
        await verifyParsed(password, await dummy);
        return options.unknownUser === 'ignore' ? IGNORE : BAD;
      }
      let ok: boolean;
      try {
        ok = await verify(entry, password, cache ? cacheKey(username, password) : undefined);
      } catch (error) {
        if (!(error instanceof PasswordFormatError)) throw error;
        logger?.error({ username, code: error.code }, 'stored password hash is unusable; denying');
        return { outcome: 'deny', reason: 'error', message: 'stored credentials are unusable' };
      }
      if (!ok) return BAD;
      if (entry.disabled) return { outcome: 'deny', reason: 'not-authorized', message: 'user is disabled' };
      const age = checkPasswordAge(entry.passwordChangedAt, rules, now());
      if (age.expired) return { outcome: 'deny', reason: 'expired', message: age.reason };
      rehash(entry, password);
      const { remoteAddress, tls } = request.transport;
      return {
        outcome: 'allow',
        principal: userPrincipal(entry, { clientId: request.clientId, remoteAddress, tls }),
      };
    },
  };
}

/**
 * A hash of the store's most common kind and cost whose digest is random bytes: verifying against it
 * costs what a real user's check costs and can never succeed. An empty store gets an argon2id default.
 */
async function pickDummy(store: CredentialStore): Promise<ParsedHash> {
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
  let best: ParsedHash | undefined;
  let most = 0;
  for (const { parsed, n } of counts.values()) {
    if (n > most) [best, most] = [parsed, n];
  }
  best ??= parseHash(await hashPassword(randomBytes(16)));
  return best.kind === 'bcrypt' ? best : { ...best, hash: randomBytes(best.hash.length) };
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

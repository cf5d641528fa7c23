import {
  type AuditContext,
  type AuthenticationResult,
  type ConnectRequest,
  type Decision,
  errorCode,
  type Guard,
  type GuardLogger,
} from '@mqtt-warden/core';
import { type CounterStore, openCounterStore } from './counter-store.js';
import type { DefenseEvent, KeyKind } from './defense-event.js';
import { type DefensesConfig, type DefensesConfigInput, parseDefensesConfig } from './defenses-config.js';
import { FleetSync, type FleetSyncStats } from './fleet-sync.js';
import { type Budget, localBudget } from './leased-budget.js';
import { Lockout, type LoginAttempt } from './lockout.js';
import { addressKey, type LockKind, lockKey } from './lockout-key.js';
import { RecentCredentials } from './recent-credentials.js';
import type { RequestBuckets } from './shared-token-buckets.js';
import { SlowdownHolds } from './slowdown-holds.js';
import { TokenBuckets } from './token-buckets.js';

export interface DefensesOptions {
  /** Called for every lock placed and every attempt a defense refused. Must not throw. */
  readonly onEvent?: (event: DefenseEvent) => void;
  /** Where store errors are reported (never with a password). */
  readonly logger?: GuardLogger;
  /** Clock in ms; tests inject one (token buckets only; store windows use the store's clock). */
  readonly now?: () => number;
}

/** Counts since start, for metrics. */
export interface DefenseStats {
  /** Connect attempts handed to the authenticators (the ones that may cost a hash verification). */
  readonly verifications: number;
  /** Connect attempts refused before that, by defense. */
  readonly refused: { readonly lockout: number; readonly rateLimited: number; readonly stormShed: number };
  /** Attempts answered "unavailable" because the store could not answer. */
  readonly storeErrors: number;
  /** With Redis: the sharing of request limits and verification budget (undefined with memory). */
  readonly shared?: FleetSyncStats;
  /** Refused authorization replies given a hold (`Decision.holdMs`): slowed before being refused. */
  readonly held: number;
}

/** Lockout, rate limits and storm control around a guard; see {@link createDefenses}. */
export interface Defenses {
  readonly config: DefensesConfig;
  /** The lockout, for listing and clearing locks; undefined when it is off. */
  readonly lockout: Lockout | undefined;
  /** A guard that applies the defenses before and after the given one. */
  protect(guard: Guard): Guard;
  stats(): DefenseStats;
  close(): Promise<void>;
}

/** What a locked-out attempt is told: exactly what the password authenticator says to a wrong password. */
const LOCKED: AuthenticationResult = {
  ok: false,
  reason: 'bad-credentials',
  message: 'bad username or password',
};
const TRY_LATER: AuthenticationResult = { ok: false, reason: 'unavailable', message: 'try again later' };
const MAX_SUBJECT = 256;
/** The `rateLimits.requests` bucket of each request key. */
const RATE_OF = { principal: 'perPrincipal', client: 'perClientId', address: 'perAddress' } as const;

/**
 * Builds the defenses from a `defenses` config block and opens their store (memory, or Redis shared by
 * replicas). Wrap the guard every adapter uses with {@link Defenses.protect}; a connect then goes:
 * connect rate limits (address, client id) → lockout check (no hash work for a locked key; answered as a
 * wrong password) → the verification budget, this process's or with Redis the fleet's (recently verified
 * credentials first) → attempt charged to the failure counters → authenticators → counters reset on success, the charge
 * refunded when the answer was no wrong credential. Authorization requests are limited per
 * address, client id and principal (synchronously; with Redis shared approximately, see `FleetSync`),
 * and a refused one costs `deniedCost` tokens: a key drained by refusals has its refused replies held
 * (`Decision.holdMs`, adapters wait it out), then, once its bucket is empty, is refused without evaluation.
 *
 * @example
 * ```ts
 * const defenses = await createDefenses({ store: { redis: { url: 'redis://127.0.0.1:6379' } } }, {
 *   onEvent: (e) => console.warn(e),
 * });
 * const guard = defenses.protect(createGuard({ authenticators, authorizer }));
 * ```
 */
export async function createDefenses(
  input: DefensesConfigInput | DefensesConfig = {},
  options: DefensesOptions = {},
): Promise<Defenses> {
  const config = parseDefensesConfig(input as DefensesConfigInput);
  const now = options.now ?? Date.now;
  const emit = options.onEvent ?? (() => {});
  const log = options.logger;
  const on = config.enabled;
  let lastStoreLog = 0;
  const storm = on && config.storm.enabled ? config.storm : undefined;
  const sharedStorm = storm?.shared.enabled === true && config.store !== 'memory';
  const unreachable = `defenses store (Redis) unreachable: check that Redis runs at the host and port of defenses.store.redis.url and accepts its credentials; meanwhile ${config.onStoreError === 'open' ? 'each replica counts in its own memory' : 'connects are refused "try again later"'}`;
  const store: CounterStore | undefined =
    on && (config.lockout.enabled || config.rateLimits.enabled || sharedStorm)
      ? await openCounterStore(config, {
          onError: (error) => {
            // One line every 10 s at most while Redis is down.
            if (now() - lastStoreLog < 10_000) return;
            lastStoreLog = now();
            // The error's code only: the message or the error's members could hold the URL's password.
            log?.error({ code: errorCode(error) }, unreachable);
          },
        })
      : undefined;
  const lockout = store && config.lockout.enabled ? new Lockout(store, config.lockout, now) : undefined;
  const limits = on && config.rateLimits.enabled ? config.rateLimits : undefined;
  const connectsByAddress = store && limits && store.counter('conn-addr', limits.connects.perAddress.seconds);
  const connectsByClient =
    store && limits && store.counter('conn-client', limits.connects.perClientId.seconds);
  // With Redis, request buckets and the verification budget are shared by the replicas (FleetSync);
  // with memory, they are this process's token buckets, as they always were.
  const sharedRequests = limits?.requests.shared.enabled === true;
  const sync =
    store?.shared && (sharedRequests || sharedStorm)
      ? new FleetSync(store.shared.state, {
          keyPrefix: store.shared.keyPrefix,
          intervalMs: config.rateLimits.requests.shared.intervalMs,
          maxKeys: config.rateLimits.requests.shared.maxKeys,
          now,
          ...(log && { logger: log }),
        })
      : undefined;
  const requestBuckets = (name: string, rate: { perSecond: number; burst: number }): RequestBuckets =>
    sync && sharedRequests ? sync.buckets(name, rate) : new TokenBuckets(rate, { now });
  const requests = limits && {
    address: requestBuckets('address', limits.requests.perAddress),
    client: requestBuckets('client', limits.requests.perClientId),
    principal: requestBuckets('principal', limits.requests.perPrincipal),
  };
  const stormBudget = (name: string, rate: { perSecond: number; burst: number }): Budget =>
    sync && sharedStorm ? sync.budget(name, rate, config.storm.shared.chunks) : localBudget(rate, now);
  const slowdown = limits?.requests.slowdown.enabled ? limits.requests.slowdown : undefined;
  const holds = slowdown && new SlowdownHolds({ maxHeld: slowdown.maxHeld, now });
  const budget = storm && {
    fresh: stormBudget('fresh', storm.verificationsPerSecond),
    recent: stormBudget('recent', storm.recentPerSecond),
    known: new RecentCredentials({ max: storm.recentMax, ttlMs: storm.recentSeconds * 1000 }),
  };
  sync?.start();
  const stats = {
    verifications: 0,
    refused: { lockout: 0, rateLimited: 0, stormShed: 0 },
    storeErrors: 0,
    held: 0,
  };

  function event(kind: DefenseEvent['kind'], key: KeyKind, subject: string, extra: Partial<DefenseEvent>) {
    try {
      emit({ kind, key, subject: subject.slice(0, MAX_SUBJECT), refused: true, ...extra });
    } catch (error) {
      log?.error({ code: errorCode(error) }, 'defenses onEvent failed');
    }
  }

  /** Fixed-window connect limits shared through the store; the first one over its points refuses. */
  async function connectLimited(attempt: LoginAttempt): Promise<boolean> {
    if (!limits || !connectsByAddress || !connectsByClient) return false;
    const checks: [LockKind, string, typeof connectsByAddress, number][] = [];
    if (attempt.address !== undefined) {
      checks.push(['address', attempt.address, connectsByAddress, limits.connects.perAddress.points]);
    }
    if (attempt.clientId !== '') {
      checks.push(['client', attempt.clientId, connectsByClient, limits.connects.perClientId.points]);
    }
    // Keyed as locks are: encoded, and hashed when long, so a 64 KiB client id costs a short key.
    const counts = await Promise.all(
      checks.map(([kind, subject, counter]) => counter.add(lockKey(kind, subject))),
    );
    const over = counts.findIndex((c, i) => c.count > (checks[i] as (typeof checks)[number])[3]);
    if (over < 0) return false;
    const [key, subject] = checks[over]!;
    stats.refused.rateLimited++;
    event('rate-limited', key, subject, { address: attempt.address, until: now() + counts[over]!.msLeft });
    return true;
  }

  /** Whether one more verification may start now (fleet-wide with Redis); recently verified credentials first. */
  async function withinBudget(attempt: LoginAttempt, credential: string | undefined): Promise<boolean> {
    if (!budget) return true;
    const known = credential !== undefined && budget.known.hasDigest(credential);
    if (await (known ? budget.recent : budget.fresh).take()) return true;
    stats.refused.stormShed++;
    event('storm-shed', 'global', attempt.username ?? attempt.clientId, {
      address: attempt.address,
      until: now() + budget.fresh.msUntil(),
    });
    return false;
  }

  async function authenticate(
    guard: Guard,
    request: ConnectRequest,
    context: AuditContext | undefined,
  ): Promise<AuthenticationResult> {
    const remote = request.transport.remoteAddress;
    const attempt: LoginAttempt = {
      username: request.username,
      clientId: request.clientId,
      address: remote === undefined || remote === '' ? undefined : addressKey(remote),
    };
    // The credential's keyed digest, once per login (not for refusals): asked here, added after a success.
    let credential: string | undefined;
    try {
      if (await connectLimited(attempt)) return TRY_LATER;
      const lock = await lockout?.check(attempt);
      if (lock) {
        stats.refused.lockout++;
        event('lockout', lock.kind, lock.subject, { address: attempt.address, until: lock.until });
        return LOCKED;
      }
      const { username, password } = request;
      if (budget && username !== undefined && password !== undefined) {
        credential = budget.known.digest(username, password);
      }
      if (!(await withinBudget(attempt, credential))) return TRY_LATER;
      for (const placed of (await lockout?.charge(attempt)) ?? []) {
        event('lockout', placed.kind, placed.subject, {
          address: attempt.address,
          until: placed.until,
          refused: false,
        });
        log?.warn(
          { key: placed.kind, until: new Date(placed.until).toISOString() },
          'login locked out after repeated failures',
        );
      }
    } catch (error) {
      // Only a store error gets here (onStoreError: closed): refuse as "try later", never allow.
      stats.storeErrors++;
      log?.warn(
        { code: errorCode(error) },
        'defenses store unavailable; connect refused (onStoreError: closed)',
      );
      return TRY_LATER;
    }
    stats.verifications++;
    const result = await guard.authenticate(request, context);
    await settle(attempt, credential, result).catch((error: unknown) => {
      stats.storeErrors++;
      log?.warn({ code: errorCode(error) }, 'defenses store unavailable; attempt not settled');
    });
    return result;
  }

  /** After the verification: a success resets the counters, an answer that was no wrong credential is refunded. */
  async function settle(attempt: LoginAttempt, credential: string | undefined, result: AuthenticationResult) {
    if (result.ok) {
      if (budget && credential !== undefined) budget.known.addDigest(credential);
      await lockout?.succeeded(attempt);
    } else if (result.reason !== 'bad-credentials' && result.reason !== 'no-authenticator') {
      await lockout?.refund(attempt);
    }
  }

  /**
   * Slowed, then refused: a refused request whose keys' buckets are below `below` of their burst gets a
   * hold growing with the most drained one's deficit, up to `maxDelayMs`; one per key and `maxHeld` in
   * all at once, else it is answered at once.
   */
  function slowed(
    decision: Decision,
    keys: readonly (readonly [KeyKind, RequestBuckets, string])[],
    address: string | undefined,
    adapter: string | undefined,
  ): Decision {
    const rates = limits?.requests;
    if (!rates || !slowdown || !holds || decision.allowed || decision.reason === 'error') return decision;
    if (adapter === undefined || !slowdown.adapters.includes(adapter)) return decision;
    let deficit = 0;
    let worst: { kind: KeyKind; key: string; refillMs: number } | undefined;
    for (const [kind, buckets, key] of keys) {
      const rate = rates[RATE_OF[kind as keyof typeof RATE_OF]];
      const level = rate.burst * slowdown.below;
      // The time to refill up to `level`, as a share of the time from empty: 0 at `level`, 1 when empty.
      const refillMs = buckets.msUntil(key, level);
      const share = Math.min(1, (refillMs * rate.perSecond) / 1000 / level);
      if (share > deficit) [deficit, worst] = [share, { kind, key, refillMs }];
    }
    const holdMs = Math.ceil(slowdown.maxDelayMs * deficit);
    if (holdMs <= 0 || !worst) return decision;
    if (
      !holds.reserve(
        keys.map(([kind, , key]) => `${kind}:${key}`),
        holdMs,
      )
    )
      return decision;
    stats.held++;
    // `until`: when the key is out of the slowdown again, if it stops asking.
    event('rate-limited', worst.kind, worst.key, {
      address,
      until: now() + worst.refillMs,
      refused: false,
      holdMs,
    });
    return { ...decision, holdMs };
  }

  return {
    config,
    lockout,
    protect(guard) {
      const authenticating: Guard = {
        ...guard,
        authenticate: (request, context) => authenticate(guard, request, context),
      };
      // Without request limits the guard's own authorize is called directly: no hop per decision.
      if (!requests) return authenticating;
      return {
        ...authenticating,
        authorize(principal, request, context) {
          const remote = principal.remoteAddress;
          const keys: [KeyKind, RequestBuckets, string][] = [
            ['principal', requests.principal, principal.id],
            ['client', requests.client, principal.clientId],
          ];
          if (remote !== undefined && remote !== '')
            keys.push(['address', requests.address, addressKey(remote)]);
          const empty = keys.find(([, buckets, key]) => buckets.msUntil(key) > 0);
          if (empty) {
            const [kind, buckets, key] = empty;
            stats.refused.rateLimited++;
            event('rate-limited', kind, key, { address: remote, until: now() + buckets.msUntil(key) });
            return {
              allowed: false,
              reason: 'default',
              message: 'too many authorization requests; slow down',
            };
          }
          const decision = guard.authorize(principal, request, context);
          const cost = decision.allowed ? 1 : (limits?.requests.deniedCost ?? 1);
          for (const [, buckets, key] of keys) buckets.charge(key, cost);
          return slowed(decision, keys, remote, context?.adapter);
        },
      };
    },
    stats: () => ({ ...stats, refused: { ...stats.refused }, ...(sync && { shared: sync.stats() }) }),
    close: async () => {
      await sync?.close();
      await store?.close();
    },
  };
}

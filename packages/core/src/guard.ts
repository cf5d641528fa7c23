import { guardClock } from './coarse-clock.js';
import { DecisionCache } from './decision-cache.js';
import { cacheTopic, DecisionKeys } from './decision-keys.js';
import { errorCode } from './errors.js';
import type {
  AccessRequest,
  Authenticator,
  Authorizer,
  ConnectRequest,
  Decision,
  DenyReason,
  Principal,
  RuleRef,
} from './types.js';

/** Result of {@link Guard.authenticate}. */
export type AuthenticationResult =
  | { readonly ok: true; readonly principal: Principal; readonly authenticator: string }
  | {
      readonly ok: false;
      readonly reason: DenyReason;
      readonly message: string;
      readonly authenticator?: string;
      /** The connect rule that refused the principal (client-id binding, allowed methods), when one did. */
      readonly rule?: RuleRef;
    };

/** Who asked, for audit events: the adapter (broker integration) a decision was made for. */
export interface AuditContext {
  /** `emqx`, `go-auth`, `rabbitmq`, `aedes`, `token` or a name of your own. */
  readonly adapter?: string;
}

/** One audit record per decision. Holds no password, token or key. */
export type AuditEvent =
  | {
      readonly type: 'authenticate';
      readonly time: number;
      readonly durationMs: number;
      readonly adapter?: string;
      readonly allowed: boolean;
      readonly reason?: DenyReason;
      readonly rule?: RuleRef;
      readonly authenticator?: string;
      readonly clientId: string;
      /** The CONNECT username as sent (unproven when the connect is refused). */
      readonly username?: string;
      readonly principalId?: string;
      readonly remoteAddress?: string;
    }
  | {
      readonly type: 'authorize';
      readonly time: number;
      readonly durationMs: number;
      readonly adapter?: string;
      readonly allowed: boolean;
      readonly reason: Decision['reason'];
      readonly rule?: RuleRef;
      readonly cached: boolean;
      readonly principalId: string;
      readonly clientId: string;
      /** The proven username, else the claimed one. */
      readonly username?: string;
      readonly remoteAddress?: string;
      readonly action: AccessRequest['action'];
      readonly topic: string;
      readonly qos?: number;
      readonly retain?: boolean;
    };

/** The subset of a pino-style logger the guard uses. */
export interface GuardLogger {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface GuardOptions {
  /** Tried in order; the first answer that is not `ignore` decides. */
  readonly authenticators: readonly Authenticator[];
  readonly authorizer: Authorizer;
  /**
   * Decision cache; `false` disables it. Defaults: 100,000 decisions, 16 MiB, 60 s. It holds up to `max`
   * decisions and `maxBytes` counted bytes in all and forgets the oldest first: a decision stays until
   * about `max` newer ones, or as many bytes, or the TTL push it out; one asked for again (within a quarter
   * of the TTL of its generation's start) moves to the newest generation, so that up to `max` decisions
   * asked for again and again stay cached. `maxBytes` bounds the cached decisions with their topic
   * strings (counted at two bytes a character plus ~128 bytes of entry a topic, 64 a further decision)
   * and, separately, the table of principal contents; a topic longer than `maxTopicLength` characters
   * (default 1,024) is decided without the cache.
   */
  readonly cache?:
    | false
    | {
        readonly max?: number;
        readonly ttlMs?: number;
        readonly maxBytes?: number;
        readonly maxTopicLength?: number;
      };
  /**
   * Receives an event for every decision, authorization allows included unless `auditAllow` says
   * otherwise.
   */
  readonly audit?: (event: AuditEvent) => void;
  /**
   * Called for each authorization allow before its event is built: return false to skip the event.
   * Allows are most decisions; an audit trail counts them here and samples a few, so the hot path
   * allocates nothing for the rest.
   */
  readonly auditAllow?: () => boolean;
  readonly logger?: GuardLogger;
  /** Clock in ms; tests inject one. */
  readonly now?: () => number;
}

export interface GuardStats {
  readonly cacheHits: number;
  readonly cacheMisses: number;
  readonly cacheSize: number;
}

export interface Guard {
  /**
   * Runs the authenticator chain, then the policy's connect rules. Never throws. `context` only labels
   * the audit event.
   */
  authenticate(request: ConnectRequest, context?: AuditContext): Promise<AuthenticationResult>;
  /** Decides one publish/subscribe/receive. Synchronous and never throws; errors deny. */
  authorize(principal: Principal, request: AccessRequest, context?: AuditContext): Decision;
  /** Empties the decision cache (the guard does this itself when the authorizer reports a change). */
  clearCache(): void;
  stats(): GuardStats;
  /**
   * Registers a listener called after the authorizer reports a policy change, once the guard's own cache
   * is cleared (adapters use it to drop state derived from earlier decisions). Returns an unsubscribe function.
   */
  onChange(listener: () => void): () => void;
  /** Detaches from the authorizer's change notifications. */
  close(): void;
}

const EXPIRED: Decision = { allowed: false, reason: 'expired', message: 'the principal has expired' };
const SUPERUSER: Decision = { allowed: true, reason: 'superuser' };

/**
 * Composes an authenticator chain and an authorizer into one decision point.
 *
 * @example
 * ```ts
 * const guard = createGuard({ authenticators: [passwords], authorizer: policy });
 * const result = await guard.authenticate({ clientId: 'dev1', username: 'dev1', password, transport: { tls: true } });
 * if (result.ok) guard.authorize(result.principal, { action: 'publish', topic: 'devices/dev1/telemetry', qos: 1 });
 * ```
 */
export function createGuard(options: GuardOptions): Guard {
  const { authenticators, authorizer, audit, auditAllow, logger } = options;
  const now = options.now ?? Date.now;
  const cacheOptions = options.cache === false ? undefined : (options.cache ?? {});
  const maxBytes = cacheOptions?.maxBytes ?? 16 * 2 ** 20;
  const maxTopicLength = cacheOptions?.maxTopicLength ?? 1024;
  const ttlMs = cacheOptions?.ttlMs ?? 60_000;
  // The cache reads the system clock less often than every request (its generations age by the TTL less
  // the lag); an injected one is exact. Expiry is checked on `now`, exactly.
  const clock = guardClock(DecisionCache.lagFor(ttlMs), options.now);
  const cache =
    cacheOptions && new DecisionCache({ max: cacheOptions.max ?? 100_000, maxBytes, ttlMs, clock });
  const keys = new DecisionKeys({ entries: cacheOptions?.max ?? 100_000, bytes: maxBytes }, () =>
    cache?.clear(),
  );
  let hits = 0;
  let misses = 0;
  const changeListeners = new Set<() => void>();
  const unsubscribe = authorizer.onChange?.(() => {
    cache?.clear();
    for (const listener of changeListeners) listener();
  });

  async function runChain(request: ConnectRequest): Promise<AuthenticationResult> {
    for (const authenticator of authenticators) {
      let outcome: Awaited<ReturnType<Authenticator['authenticate']>>;
      try {
        outcome = await authenticator.authenticate(request);
      } catch (error) {
        logger?.error(
          { authenticator: authenticator.name, code: errorCode(error), clientId: request.clientId },
          'authenticator failed; denying',
        );
        // A backend that could not answer stays distinguishable so adapters can say "try later".
        return {
          ok: false,
          reason: errorCode(error) === 'ERR_UNAVAILABLE' ? 'unavailable' : 'error',
          message: 'authentication failed',
          authenticator: authenticator.name,
        };
      }
      if (outcome.outcome === 'ignore') continue;
      if (outcome.outcome === 'deny') {
        return {
          ok: false,
          reason: outcome.reason,
          message: outcome.message ?? outcome.reason,
          authenticator: authenticator.name,
        };
      }
      const principal = outcome.principal;
      if (principal.expiresAt !== undefined && principal.expiresAt <= now()) {
        return {
          ok: false,
          reason: 'expired',
          message: 'credentials have expired',
          authenticator: authenticator.name,
        };
      }
      const admitted = admit(principal);
      if (!admitted.allowed) {
        return {
          ok: false,
          reason: admitted.reason === 'error' ? 'error' : 'not-authorized',
          message: admitted.message ?? 'not authorized to connect',
          authenticator: authenticator.name,
          rule: admitted.rule,
        };
      }
      return { ok: true, principal, authenticator: authenticator.name };
    }
    return { ok: false, reason: 'no-authenticator', message: 'no authenticator accepted these credentials' };
  }

  function admit(principal: Principal): Decision {
    if (!authorizer.admit) return { allowed: true, reason: 'default' };
    try {
      return authorizer.admit(principal);
    } catch (error) {
      logger?.error(
        { code: errorCode(error), clientId: principal.clientId },
        'connect rules failed; denying',
      );
      return { allowed: false, reason: 'error', message: 'connect rules failed' };
    }
  }

  function decide(principal: Principal, request: AccessRequest): Decision {
    if (principal.superuser) return SUPERUSER;
    try {
      return authorizer.authorize(principal, request);
    } catch (error) {
      logger?.error({ code: errorCode(error), clientId: principal.clientId }, 'authorizer failed; denying');
      return { allowed: false, reason: 'error', message: 'authorization failed' };
    }
  }

  return {
    async authenticate(request, context) {
      const start = audit ? performance.now() : 0;
      const result = await runChain(request);
      audit?.({
        type: 'authenticate',
        time: now(),
        durationMs: performance.now() - start,
        adapter: context?.adapter,
        allowed: result.ok,
        reason: result.ok ? undefined : result.reason,
        rule: result.ok ? undefined : result.rule,
        authenticator: result.authenticator,
        clientId: request.clientId,
        username: request.username,
        principalId: result.ok ? result.principal.id : undefined,
        remoteAddress: request.transport.remoteAddress,
      });
      return result;
    },

    authorize(principal, request, context) {
      const start = audit ? performance.now() : 0;
      // Expiry is checked before the cache so that a cached allow never outlives the credentials, and on
      // the exact clock: a coarse reading can lag by as long as the event loop stalled.
      if (principal.expiresAt !== undefined && principal.expiresAt <= now()) {
        if (audit) emit(principal, request, EXPIRED, false, start, context);
        return EXPIRED;
      }
      const topic = cache === undefined ? undefined : cacheTopic(request, maxTopicLength);
      const key = topic === undefined ? -1 : keys.key(principal, request);
      if (cache === undefined || topic === undefined || key < 0) {
        const decision = decide(principal, request);
        if (audit) emit(principal, request, decision, false, start, context);
        return decision;
      }
      let decision = cache.get(topic, key);
      if (decision !== undefined) {
        hits++;
        if (audit) emit(principal, request, decision, true, start, context);
        return decision;
      }
      misses++;
      decision = decide(principal, request);
      // Errors are not cached: the next request gets a fresh chance to be decided properly.
      if (decision.reason !== 'error') cache.set(topic, key, decision);
      if (audit) emit(principal, request, decision, false, start, context);
      return decision;
    },

    clearCache() {
      cache?.clear();
    },

    stats() {
      return { cacheHits: hits, cacheMisses: misses, cacheSize: cache?.size ?? 0 };
    },

    onChange(listener) {
      changeListeners.add(listener);
      return () => changeListeners.delete(listener);
    },

    close() {
      unsubscribe?.();
      changeListeners.clear();
    },
  };

  function emit(
    principal: Principal,
    request: AccessRequest,
    decision: Decision,
    cached: boolean,
    start: number,
    context: AuditContext | undefined,
  ) {
    if (!audit || (decision.allowed && auditAllow && !auditAllow())) return;
    audit({
      type: 'authorize',
      time: now(),
      durationMs: performance.now() - start,
      adapter: context?.adapter,
      allowed: decision.allowed,
      reason: decision.reason,
      rule: decision.rule,
      cached,
      principalId: principal.id,
      clientId: principal.clientId,
      username: principal.username ?? principal.claimedUsername,
      remoteAddress: principal.remoteAddress,
      action: request.action,
      topic: request.topic,
      qos: request.qos,
      retain: request.retain,
    });
  }
}

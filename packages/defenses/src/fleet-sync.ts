import { randomUUID } from 'node:crypto';
import { errorCode, type GuardLogger } from '@mqtt-warden/core';
import { LeasedBudget } from './leased-budget.js';
import type { SharedState } from './shared-state.js';
import { SharedTokenBuckets } from './shared-token-buckets.js';

export interface FleetSyncOptions {
  /** Prefix of every store key (the store's `keyPrefix`). */
  readonly keyPrefix: string;
  /** How often request-bucket counts are flushed and the fleet's tokens read back (ms). */
  readonly intervalMs: number;
  /** Keys flushed at most per flush (the oldest counts first; the rest wait for the next). */
  readonly maxKeys: number;
  /** Keys each request bucket family keeps in memory. */
  readonly maxBuckets?: number;
  readonly logger?: GuardLogger;
  readonly now?: () => number;
}

/** How the sharing is doing, for metrics. */
export interface FleetSyncStats {
  /** Flushes, leases and heartbeats the store did not answer. */
  readonly errors: number;
  /** True while the last store call failed: limits are this process's own (bounded) meanwhile. */
  readonly degraded: boolean;
  /** Replicas last seen alive (this one included). */
  readonly replicas: number;
}

const HEARTBEAT_MS = 2000;
const REPLICA_TTL_MS = 10_000;
const LOG_EVERY_MS = 10_000;

/**
 * The sharing of the request buckets and the verification budget between the replicas of one store:
 * a timer flushes every bucket family's counts in one round trip (one atomic script), every
 * `intervalMs`, and the replicas announce themselves every 2 s so each knows how many share the
 * budget (for its fallback while the store is down). Store down: each bucket family and budget goes on
 * with this process's own state; logged once every 10 s at most, counted in {@link stats}.
 *
 * @example
 * ```ts
 * const sync = new FleetSync(redisSharedState(redis), { keyPrefix: 'p', intervalMs: 200, maxKeys: 1000 });
 * const perClient = sync.buckets('client', { perSecond: 500, burst: 1000 });
 * sync.start();
 * ```
 */
export class FleetSync {
  readonly #shared: SharedState;
  readonly #o: FleetSyncOptions;
  readonly #now: () => number;
  readonly #id = randomUUID();
  readonly #families: SharedTokenBuckets[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #lastBeat = Number.NEGATIVE_INFINITY;
  #replicas = 1;
  #errors = 0;
  #failing = false;
  #lastLog = Number.NEGATIVE_INFINITY;

  constructor(shared: SharedState, options: FleetSyncOptions) {
    this.#shared = shared;
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** A family of request buckets shared through the store (`name` keeps families apart). */
  buckets(name: string, rate: { readonly perSecond: number; readonly burst: number }): SharedTokenBuckets {
    const family = new SharedTokenBuckets(name, rate, {
      keyPrefix: `${this.#o.keyPrefix}:rq`,
      ...(this.#o.maxBuckets !== undefined && { max: this.#o.maxBuckets }),
      ...(this.#o.now && { now: this.#o.now }),
    });
    this.#families.push(family);
    return family;
  }

  /** A fleet-wide budget leased from the store (`name` keeps budgets apart). */
  budget(name: string, rate: { readonly perSecond: number; readonly burst: number }, chunks: number) {
    return new LeasedBudget({
      shared: this.#shared,
      key: `${this.#o.keyPrefix}:storm:${name}`,
      rate,
      chunks,
      replicas: () => this.#replicas,
      onError: (error) => this.#failed(error),
      onSuccess: () => this.#succeeded(),
      ...(this.#o.now && { now: this.#o.now }),
    });
  }

  start(): void {
    if (this.#timer) return;
    void this.flush();
    this.#timer = setInterval(() => void this.flush(), this.#o.intervalMs);
    this.#timer.unref();
  }

  /**
   * Flushes up to `maxKeys` counts (oldest first, across the families) and adopts the fleet's tokens
   * for them; announces this replica every 2 s. One flush at a time: a call during one joins it.
   */
  flush(): Promise<void> {
    this.#flushing ??= this.#flushOnce().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  async #flushOnce(): Promise<void> {
    const now = this.#now();
    if (now - this.#lastBeat >= HEARTBEAT_MS) {
      this.#lastBeat = now;
      try {
        this.#replicas = Math.max(
          1,
          await this.#shared.heartbeat(this.#replicasKey(), this.#id, REPLICA_TTL_MS),
        );
        this.#succeeded();
      } catch (error) {
        this.#failed(error);
      }
    }
    let room = this.#o.maxKeys;
    const batches = this.#families.map((family) => {
      const drained = family.drain(room);
      room -= drained.length;
      return drained;
    });
    const all = batches.flat();
    if (all.length === 0) return;
    try {
      const tokens = await this.#shared.syncBuckets(all);
      let at = 0;
      batches.forEach((batch, i) => {
        this.#families[i]?.adopt(batch, tokens.slice(at, at + batch.length));
        at += batch.length;
      });
      this.#succeeded();
    } catch (error) {
      // The counts are dropped, not replayed: a backlog from an outage would drain keys long after.
      this.#failed(error);
    }
  }

  stats(): FleetSyncStats {
    return { errors: this.#errors, degraded: this.#failing, replicas: this.#replicas };
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#flushing;
    // Leave the count so the others' fallback share grows at once, not after 10 s.
    await this.#shared.leave(this.#replicasKey(), this.#id).catch(() => {});
  }

  #replicasKey(): string {
    return `${this.#o.keyPrefix}:replicas`;
  }

  #failed(error: unknown): void {
    this.#errors++;
    this.#failing = true;
    const now = this.#now();
    if (now - this.#lastLog < LOG_EVERY_MS) return;
    this.#lastLog = now;
    this.#o.logger?.error(
      { code: errorCode(error), replicas: this.#replicas },
      'defenses store (Redis) unreachable: request limits and verification budget are this process’s own meanwhile',
    );
  }

  #succeeded(): void {
    if (this.#failing)
      this.#o.logger?.warn({}, 'defenses store (Redis) reachable again: limits shared again');
    this.#failing = false;
  }
}

import { encodeKeyPart } from './lockout-key.js';
import type { BucketDelta } from './shared-state.js';
import { TokenBuckets } from './token-buckets.js';

/** What a limiter on the authorization path needs: synchronous, in this process's memory. */
export interface RequestBuckets {
  msUntil(key: string, cost?: number): number;
  charge(key: string, cost: number): void;
}

/**
 * Token buckets shared by replicas, approximately: every decision is taken synchronously from this
 * process's buckets, which count what they consume per key; {@link drain} hands those counts to a flush
 * (see `FleetSync`) and {@link adopt} replaces each flushed key's tokens by what the whole fleet left of
 * it (minus what this process consumed meanwhile). A key drained through replica A is thus drained here
 * within one flush interval of this replica seeing the key again.
 *
 * Memory stays bounded: at most `max` keys (least recently used forgotten first, their unflushed counts
 * with them).
 *
 * @example
 * ```ts
 * const buckets = new SharedTokenBuckets('client', { perSecond: 500, burst: 1000 }, { keyPrefix: 'p:rq' });
 * if (buckets.msUntil('sensor-1') === 0) buckets.charge('sensor-1', 1);
 * const flush = buckets.drain(1000); // to Redis, then: buckets.adopt(flush, fleetTokens)
 * ```
 */
export class SharedTokenBuckets implements RequestBuckets {
  readonly rate: { readonly perSecond: number; readonly burst: number };
  readonly #local: TokenBuckets;
  readonly #prefix: string;
  /** Tokens consumed per key since its last drain, oldest first (a Map keeps insertion order). */
  readonly #unflushed = new Map<string, number>();
  readonly #max: number;

  constructor(
    name: string,
    rate: { readonly perSecond: number; readonly burst: number },
    options: { readonly keyPrefix: string; readonly max?: number; readonly now?: () => number },
  ) {
    this.rate = rate;
    this.#max = options.max ?? 100_000;
    this.#prefix = `${options.keyPrefix}:${name}:`;
    this.#local = new TokenBuckets(rate, {
      max: this.#max,
      ...(options.now && { now: options.now }),
      onEvict: (key) => this.#unflushed.delete(key),
    });
  }

  msUntil(key: string, cost = 1): number {
    return this.#local.msUntil(key, cost);
  }

  charge(key: string, cost: number): void {
    this.#local.charge(key, cost);
    // Re-inserted keys keep their place: the oldest counts go out first, so none waits forever.
    this.#unflushed.set(key, (this.#unflushed.get(key) ?? 0) + cost);
  }

  /** Keys with unflushed consumption (bounded by `max`). */
  get pending(): number {
    return this.#unflushed.size;
  }

  /** Takes the counts of up to `limit` keys, oldest first, as the deltas of one flush. */
  drain(limit: number): (BucketDelta & { readonly local: string })[] {
    const out: (BucketDelta & { local: string })[] = [];
    for (const [local, delta] of this.#unflushed) {
      if (out.length >= limit) break;
      this.#unflushed.delete(local);
      out.push({ local, key: this.#prefix + encodeKeyPart(local), ...this.rate, delta });
    }
    return out;
  }

  /** Takes the fleet's tokens for flushed keys; what this process consumed since the drain comes off. */
  adopt(flushed: readonly { readonly local: string }[], fleetTokens: readonly number[]): void {
    flushed.forEach(({ local }, i) => {
      const tokens = fleetTokens[i];
      if (tokens === undefined || !Number.isFinite(tokens)) return;
      this.#local.set(local, tokens - (this.#unflushed.get(local) ?? 0));
    });
  }
}

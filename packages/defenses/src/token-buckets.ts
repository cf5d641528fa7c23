import { LRUCache } from 'lru-cache';

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets in this process, one per key: `burst` tokens at once, refilled at `perSecond`.
 * Synchronous, so it can sit on a broker's delivery path. At most `max` keys are kept (least recently
 * used go first; a forgotten key starts full again, which only a flood of distinct keys can cause).
 *
 * @example
 * ```ts
 * const buckets = new TokenBuckets({ perSecond: 100, burst: 200 });
 * if (!buckets.take('10.0.0.1')) refuse();
 * ```
 */
export class TokenBuckets {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #buckets: LRUCache<string, Bucket>;

  constructor(
    rate: { readonly perSecond: number; readonly burst: number },
    options: {
      readonly max?: number;
      readonly now?: () => number;
      /** Called when a key is forgotten to make room (least recently used). */
      readonly onEvict?: (key: string) => void;
    } = {},
  ) {
    this.#perMs = rate.perSecond / 1000;
    this.#burst = rate.burst;
    this.#now = options.now ?? Date.now;
    const onEvict = options.onEvict;
    this.#buckets = new LRUCache({
      max: options.max ?? 100_000,
      ...(onEvict && {
        dispose: (_bucket: Bucket, key: string, reason: LRUCache.DisposeReason) => {
          if (reason === 'evict') onEvict(key);
        },
      }),
    });
  }

  /** Takes `cost` tokens when there are that many; false (and nothing taken) otherwise. */
  take(key: string, cost = 1): boolean {
    const bucket = this.#refilled(key);
    if (bucket.tokens < cost) return false;
    bucket.tokens -= cost;
    return true;
  }

  /** Takes up to `cost` tokens, going no lower than zero (a refused request still costs); a debt stays. */
  charge(key: string, cost: number): void {
    const bucket = this.#refilled(key);
    bucket.tokens = Math.max(Math.min(0, bucket.tokens), bucket.tokens - cost);
  }

  /**
   * Sets a key's tokens now, down to `-burst` (a debt: refused until refilled past it), e.g. to what
   * the replicas sharing the bucket left of it.
   */
  set(key: string, tokens: number): void {
    const bucket = this.#refilled(key);
    bucket.tokens = Math.min(this.#burst, Math.max(-this.#burst, tokens));
  }

  /** Ms until `cost` tokens are back for this key (0 when they are there). */
  msUntil(key: string, cost = 1): number {
    const bucket = this.#refilled(key);
    return bucket.tokens >= cost ? 0 : Math.ceil((cost - bucket.tokens) / this.#perMs);
  }

  #refilled(key: string): Bucket {
    const now = this.#now();
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: this.#burst, at: now };
      this.#buckets.set(key, bucket);
      return bucket;
    }
    bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.at) * this.#perMs);
    bucket.at = now;
    return bucket;
  }
}

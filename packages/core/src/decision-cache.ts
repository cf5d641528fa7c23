import type { Decision } from './types.js';

const EMPTY: ReadonlyMap<number, Decision> = new Map();

/**
 * The guard's decision cache: two generations of at most `max / 2` entries each. New decisions go into
 * the current generation; when it is full, or half the TTL after it began, it becomes the previous one
 * and the old previous is dropped. A lookup is one or two `Map.get`s: nothing is moved or relinked on a
 * hit, which over hundreds of thousands of entries (each a cache miss in the CPU) is what an LRU's
 * bookkeeping costs. A decision is never served more than `ttlMs` after it was stored: the current
 * generation is younger than half the TTL, and the previous one is dropped a TTL after it began.
 *
 * @example
 * ```ts
 * const cache = new DecisionCache({ max: 100_000, ttlMs: 60_000, now: Date.now });
 * cache.set(key, decision);
 * cache.get(key); // decision, until it ages out or 50,000–100,000 newer entries push it out
 * ```
 */
export class DecisionCache {
  readonly #half: number;
  readonly #ttl: number;
  readonly #now: () => number;
  #current = new Map<number, Decision>();
  #born: number;
  #previous: ReadonlyMap<number, Decision> = EMPTY;
  #previousBorn = 0;

  constructor(options: { readonly max: number; readonly ttlMs: number; readonly now: () => number }) {
    this.#half = Math.max(1, Math.floor(options.max / 2));
    this.#ttl = options.ttlMs;
    this.#now = options.now;
    this.#born = options.now();
  }

  get size(): number {
    return this.#current.size + this.#previous.size;
  }

  get(key: number): Decision | undefined {
    const now = this.#now();
    if (now - this.#born >= this.#ttl / 2) this.#rotate(now);
    const decision = this.#current.get(key);
    if (decision !== undefined || this.#previous.size === 0) return decision;
    if (now - this.#previousBorn >= this.#ttl) {
      this.#previous = EMPTY;
      return undefined;
    }
    return this.#previous.get(key);
  }

  set(key: number, decision: Decision): void {
    if (this.#current.size >= this.#half) this.#rotate(this.#now());
    this.#current.set(key, decision);
  }

  clear(): void {
    this.#current = new Map();
    this.#previous = EMPTY;
    this.#born = this.#now();
  }

  #rotate(now: number): void {
    // A generation older than the TTL has nothing left to serve.
    this.#previous = now - this.#born < this.#ttl ? this.#current : EMPTY;
    this.#previousBorn = this.#born;
    this.#current = new Map();
    this.#born = now;
  }
}

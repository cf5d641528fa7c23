/**
 * The holds placed on refused replies, counted by time: at most `maxHeld` at once in this process and one
 * per key. A hold counts until its end whether or not the adapter honours it, so no adapter has to report
 * back and nothing leaks when one does not; memory is at most `maxHeld` holds and their keys.
 *
 * @example
 * ```ts
 * const holds = new SlowdownHolds({ maxHeld: 2 });
 * holds.reserve(['client:c1', 'principal:alice'], 300); // true: c1's refused reply is held 300 ms
 * holds.reserve(['client:c1', 'principal:alice'], 300); // false: c1 has one held already
 * ```
 */
export class SlowdownHolds {
  readonly #max: number;
  readonly #now: () => number;
  /** When each held key's hold ends. */
  readonly #byKey = new Map<string, number>();
  /** When each hold ends (at most `maxHeld`). */
  #ends: number[] = [];

  constructor(options: { readonly maxHeld: number; readonly now?: () => number }) {
    this.#max = options.maxHeld;
    this.#now = options.now ?? Date.now;
  }

  /** Holds active now. */
  get size(): number {
    this.#prune(this.#now());
    return this.#ends.length;
  }

  /** Reserves a hold of `ms` for a request under these keys; false when one of them, or `maxHeld`, are held already. */
  reserve(keys: readonly string[], ms: number): boolean {
    const now = this.#now();
    this.#prune(now);
    if (this.#ends.length >= this.#max || keys.some((key) => this.#byKey.has(key))) return false;
    const until = now + ms;
    for (const key of keys) this.#byKey.set(key, until);
    this.#ends.push(until);
    return true;
  }

  #prune(now: number): void {
    if (!this.#ends.some((end) => end <= now)) return;
    this.#ends = this.#ends.filter((end) => end > now);
    for (const [key, end] of this.#byKey) if (end <= now) this.#byKey.delete(key);
  }
}

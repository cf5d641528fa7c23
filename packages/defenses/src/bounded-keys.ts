/**
 * The keys a memory counter holds, at most `max`, the least recently counted forgotten first (`onEvict`
 * tells the counter to drop it). A Set keeps insertion order, so counting a key again is delete + add and
 * the oldest is the first. Not lru-cache: it empties its preallocated arrays (O(max)) when its last key
 * is deleted, which a successful login did whenever it cleared the only failure counts left (~200 µs
 * at the default 100,000 keys).
 *
 * @example
 * ```ts
 * const keys = new BoundedKeys(100_000, (key) => void limiter.delete(key));
 * keys.touch('user:alice');
 * keys.delete('user:alice');
 * ```
 */
export class BoundedKeys {
  readonly #keys = new Set<string>();
  readonly #max: number;
  readonly #onEvict: (key: string) => void;

  constructor(max: number, onEvict: (key: string) => void) {
    this.#max = max;
    this.#onEvict = onEvict;
  }

  /** Marks a key as counted now; forgets the oldest when that makes one too many. */
  touch(key: string): void {
    this.#keys.delete(key);
    this.#keys.add(key);
    if (this.#keys.size <= this.#max) return;
    const oldest = this.#keys.values().next().value as string;
    this.#keys.delete(oldest);
    this.#onEvict(oldest);
  }

  delete(key: string): void {
    this.#keys.delete(key);
  }

  get size(): number {
    return this.#keys.size;
  }
}

/**
 * A Map that keeps at most `max` keys, forgetting the least recently touched one first.
 *
 * @example
 * ```ts
 * const seen = new BoundedMap<string, number>(2);
 * seen.set('a', 1); seen.set('b', 2); seen.set('c', 3); // 'a' is forgotten
 * ```
 */
export class BoundedMap<K, V> {
  readonly #map = new Map<K, V>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /** The value, marked as recently used. */
  get(key: K): V | undefined {
    const value = this.#map.get(key);
    if (value !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value as K);
  }
}

/**
 * The policy roles a principal holds, by index, for the check every candidate rule of a decision goes
 * through. Most principals hold a few roles: up to four sit in fields of this object (one read of memory
 * that is likely cold, where a `Set` or an array reads a second object); more use a `Set`.
 */
export class RoleMembership {
  readonly #a: number;
  readonly #b: number;
  readonly #c: number;
  readonly #d: number;
  readonly #many: ReadonlySet<number> | undefined;

  /** `indexes` are non-negative role indexes. */
  constructor(indexes: Iterable<number>) {
    const list = [...new Set(indexes)];
    const few = list.length <= 4;
    this.#a = few ? (list[0] ?? -1) : -1;
    this.#b = few ? (list[1] ?? -1) : -1;
    this.#c = few ? (list[2] ?? -1) : -1;
    this.#d = few ? (list[3] ?? -1) : -1;
    this.#many = few ? undefined : new Set(list);
  }

  has(index: number): boolean {
    if (this.#many !== undefined) return this.#many.has(index);
    return index >= 0 && (index === this.#a || index === this.#b || index === this.#c || index === this.#d);
  }
}

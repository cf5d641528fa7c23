/**
 * The policy roles a principal holds, by index, for the check every candidate rule of a decision goes
 * through. Most principals hold a few roles: a scan of a small packed array reads one cache line where
 * a `Set` reads its hash table; many roles use a `Set`.
 */
export class RoleMembership {
  readonly #few: Int32Array;
  readonly #many: ReadonlySet<number> | undefined;

  constructor(indexes: Iterable<number>) {
    const list = [...new Set(indexes)];
    this.#few = Int32Array.from(list.length <= RoleMembership.SCAN_LIMIT ? list : []);
    this.#many = list.length <= RoleMembership.SCAN_LIMIT ? undefined : new Set(list);
  }

  /** Up to this many roles are scanned rather than hashed. */
  static readonly SCAN_LIMIT = 8;

  has(index: number): boolean {
    if (this.#many !== undefined) return this.#many.has(index);
    const few = this.#few;
    for (let i = 0; i < few.length; i++) if (few[i] === index) return true;
    return false;
  }
}

import { matchValid, plainFilter } from '@mqtt-warden/topic';

const SLASH = 47;
const PLUS = 43;
const HASH = 35;
const SEED = 0x811c9dc5 | 0;
const PRIME = 16777619;

/** Keys of one lookup's shapes, reused (lookups are synchronous). */
const KEYS = new Int32Array(30);

/** The hash of `text[from, to)`, as {@link TopicLevels} computes it for one level. */
export function levelHash(text: string, from: number, to: number): number {
  let h = SEED;
  for (let i = from; i < to; i++) h = Math.imul(h ^ text.charCodeAt(i), PRIME);
  return h;
}

/**
 * The levels of one topic name (or filter without wildcards) as hashes, computed once per request in
 * one pass over the string and shared by every lookup of it: no split, no substrings, nothing allocated
 * (the hash array grows only for a deeper topic than any before).
 */
export class TopicLevels {
  topic = '';
  count = 0;
  hashes = new Int32Array(16);

  /** Reads `topic`, which the caller has validated. */
  read(topic: string): this {
    let n = 0;
    let h = SEED;
    const length = topic.length;
    for (let i = 0; i < length; i++) {
      const c = topic.charCodeAt(i);
      if (c === SLASH) {
        this.#store(n++, h);
        h = SEED;
      } else {
        h = Math.imul(h ^ c, PRIME);
      }
    }
    this.#store(n++, h);
    this.topic = topic;
    this.count = n;
    return this;
  }

  #store(i: number, h: number): void {
    if (i === this.hashes.length) {
      const grown = new Int32Array(i * 2);
      grown.set(this.hashes);
      this.hashes = grown;
    }
    this.hashes[i] = h;
  }
}

/**
 * Filters of one shape: the same number of levels, `+` at the same places, ending in `#` or not. A topic
 * of the right depth has one key in the shape (its levels at the literal places), so one hash-table
 * probe by that integer finds the filters of the shape that can match it.
 */
class Shape {
  /** Levels before any `#`. */
  readonly depth: number;
  readonly hash: boolean;
  /** Indexes of the literal levels. */
  readonly literals: readonly number[];
  /** For ordering shapes: one symbol per level, see {@link symbols}. */
  readonly symbols: string;
  /** Tells this shape's slots in the index's table from other shapes' with the same key. */
  readonly id: number;
  /** Mixed into a key's bit in the index's {@link ShapeIndex} filter so that shapes do not share bits. */
  readonly salt: number;

  constructor(levels: readonly string[], id: number) {
    this.id = id;
    this.salt = Math.imul(id + 1, 0x9e3779b1);
    const hash = levels[levels.length - 1] === '#';
    this.hash = hash;
    this.depth = hash ? levels.length - 1 : levels.length;
    const literals: number[] = [];
    for (let i = 0; i < this.depth; i++) if (levels[i] !== '+') literals.push(i);
    this.literals = literals;
    this.symbols = symbols(levels);
  }

  /** The key of a topic in this shape; the caller checks that the depth fits. */
  key(hashes: Int32Array): number {
    let h = SEED;
    const literals = this.literals;
    for (let i = 0; i < literals.length; i++) h = Math.imul(h ^ hashes[literals[i]!]!, PRIME);
    // An integer that V8 keeps unboxed (a Smi).
    return (h ^ (h >>> 15)) >>> 2;
  }
}

/**
 * The shape of a filter as symbols that sort like a depth-first walk of a topic trie visits filters:
 * at each level `#` first, then the end of the filter, then a literal, then `+`. Lookups keep the order
 * the topic trie ({@link TopicIndex}) gives, so the rule a decision names does not depend on the index.
 */
function symbols(levels: readonly string[]): string {
  let out = '';
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    out += level === '#' ? 'a' : level === '+' ? 'd' : 'c';
  }
  const hash = levels[levels.length - 1] === '#';
  return hash ? out : `${out}b`;
}

/** Placeholders of a small index (never written: a large index replaces them). */
const NO_INTS = new Int32Array(0);
const NO_SHAPES: Shape[] = [];

/** Int32s per slot of the table: key, shape id, first entry + 1 (0: empty slot), last entry + 1. */
const SLOT = 4;

/**
 * Many topic filters with a value each, answering "which filters match this topic name?" by hashing:
 * for each shape of filter present (e.g. `L/+/L`, `L/L/#`), the topic's key in that shape finds the
 * only filters of the shape that can match, and each is confirmed with {@link matchValid} (a hash
 * collision costs a comparison, never a wrong answer). A lookup costs one integer probe per applicable
 * shape instead of one string lookup per trie level; worth it while the shapes are few.
 * Results are the values a {@link TopicIndex} with the same filters would give, in the same order.
 *
 * Large indexes are a few flat arrays rather than a `Map` of arrays per shape: a lookup of a cold index
 * reads one line of the bit array, and for a key present one slot of the table and its entries, where a
 * `Map` and a bucket array were four dependent reads of memory.
 */
export class ShapeIndex<T> {
  /**
   * While the index is small: its filter and value pairs (`[filter, value, …]`), sorted by shape
   * symbols (stable), each checked with {@link matchValid}. A principal's own table holds a few rules
   * per action: shapes, their table and bits would be most of its memory.
   */
  #list: (string | T)[] | undefined = [];
  /** Shapes sorted by {@link Shape.symbols}. */
  #shapes: Shape[] = NO_SHAPES;
  /** Shapes by id. */
  #byId: Shape[] = NO_SHAPES;
  #size = 0;
  /** Open addressing, {@link SLOT} int32s a slot, at most half full: one slot per (shape, key) present. */
  #slots = NO_INTS;
  #slotMask = -1;
  #keys = 0;
  /** Entry `e`'s filter at `2e` and value at `2e + 1`, in the order added. */
  #entries: (string | T)[] = [];
  /** The next entry + 1 of the same slot (0: the last), by entry. */
  #next = NO_INTS;
  /**
   * One bit per (shape, key) present, at least 16 bits per key: most lookups of a shape find no filter,
   * and this small array (in cache) says so without reading the table (not in cache).
   * A set bit may be another key's: then the table answers.
   */
  #bits = NO_INTS;
  #mask = 31;

  /** Up to this many filters sit in a list. */
  static readonly LIST_LIMIT = 16;

  get size(): number {
    return this.#size;
  }

  /** Adds `value` under `filter` (a `$share/{group}/` prefix is ignored). Throws a TopicError for an invalid filter. */
  add(filter: string, value: T): void {
    const plain = plainFilter(filter);
    const list = this.#list;
    if (list !== undefined) {
      if (this.#size < ShapeIndex.LIST_LIMIT) {
        const sig = symbols(plain.split('/'));
        let at = 0;
        while (at < list.length && symbols((list[at] as string).split('/')) <= sig) at += 2;
        list.splice(at, 0, plain, value);
        this.#size++;
        return;
      }
      this.#list = undefined;
      // The structures of a large index, allocated only now: a principal's own table holds several
      // small indexes, and empty typed arrays and lists are a few hundred bytes each.
      this.#shapes = [];
      this.#byId = [];
      this.#bits = new Int32Array(1);
      this.#size = 0;
      for (let i = 0; i < list.length; i += 2) this.#addShaped(list[i] as string, list[i + 1] as T);
    }
    this.#addShaped(plain, value);
  }

  #addShaped(plain: string, value: T): void {
    const levels = plain.split('/');
    const sig = symbols(levels);
    let shape = this.#shapes.find((s) => s.symbols === sig);
    if (!shape) {
      shape = new Shape(levels, this.#byId.length);
      this.#byId.push(shape);
      let at = 0;
      while (at < this.#shapes.length && this.#shapes[at]!.symbols < sig) at++;
      this.#shapes.splice(at, 0, shape);
    }
    const hashes = new Int32Array(Math.max(1, levels.length));
    let from = 0;
    levels.forEach((level, i) => {
      hashes[i] = levelHash(plain, from, from + level.length);
      from += level.length + 1;
    });
    const key = shape.key(hashes);
    const entry = this.#entries.length >> 1;
    // Joined again into a string of its own: V8 keeps a concatenation as a tree and a substring of a
    // file as a view into it, and reading one in a lookup would be one more fetch from memory.
    this.#entries.push(levels.join('/'), value);
    if (entry === this.#next.length) {
      const grown = new Int32Array(Math.max(16, entry * 2));
      grown.set(this.#next);
      this.#next = grown;
    }
    this.#size++;
    const slot = this.#find(shape, key);
    if (slot >= 0) {
      // Appended to the slot's entries: they stay in the order added.
      this.#next[this.#slots[slot + 3]! - 1] = entry + 1;
      this.#slots[slot + 3] = entry + 1;
      return;
    }
    if ((this.#keys + 1) * 2 > this.#slotMask + 1) this.#growSlots();
    this.#place(shape, key, entry + 1, entry + 1);
    this.#keys++;
    if (this.#keys * 16 > this.#mask + 1) this.#resize();
    this.#mark(shape, key);
  }

  /** The table offset of the slot of (shape, key), or -1. */
  #find(shape: Shape, key: number): number {
    const slots = this.#slots;
    const mask = this.#slotMask;
    if (mask < 0) return -1;
    const id = shape.id;
    for (let i = slotOf(shape, key) & mask; ; i = (i + 1) & mask) {
      const at = i * SLOT;
      if (slots[at + 2] === 0) return -1;
      if (slots[at] === key && slots[at + 1] === id) return at;
    }
  }

  /** Puts (shape, key) in the first free slot from its own; the caller has made room. */
  #place(shape: Shape, key: number, first: number, last: number): void {
    const slots = this.#slots;
    const mask = this.#slotMask;
    let i = slotOf(shape, key) & mask;
    while (slots[i * SLOT + 2] !== 0) i = (i + 1) & mask;
    const at = i * SLOT;
    slots[at] = key;
    slots[at + 1] = shape.id;
    slots[at + 2] = first;
    slots[at + 3] = last;
  }

  /** Twice the slots (at least 16), every (shape, key) placed again. */
  #growSlots(): void {
    const old = this.#slots;
    this.#slotMask = Math.max(16, (this.#slotMask + 1) * 2) - 1;
    this.#slots = new Int32Array((this.#slotMask + 1) * SLOT);
    for (let at = 0; at < old.length; at += SLOT) {
      if (old[at + 2] !== 0) this.#place(this.#byId[old[at + 1]!]!, old[at]!, old[at + 2]!, old[at + 3]!);
    }
  }

  #mark(shape: Shape, key: number): void {
    const bit = (key ^ shape.salt) & this.#mask;
    this.#bits[bit >>> 5]! |= 1 << (bit & 31);
  }

  /** Four times the bits, every key marked again. */
  #resize(): void {
    this.#mask = (this.#mask + 1) * 4 - 1;
    this.#bits = new Int32Array((this.#mask + 1) >>> 5);
    const slots = this.#slots;
    for (let at = 0; at < slots.length; at += SLOT) {
      if (slots[at + 2] !== 0) this.#mark(this.#byId[slots[at + 1]!]!, slots[at]!);
    }
  }

  /** Appends to `out` the values of every filter that matches `topic` (a validated name, read into `levels`). */
  matchInto(levels: TopicLevels, out: T[]): T[] {
    const { count, hashes, topic } = levels;
    const list = this.#list;
    if (list !== undefined) {
      for (let i = 0; i < list.length; i += 2) {
        if (matchValid(list[i] as string, topic)) out.push(list[i + 1] as T);
      }
      return out;
    }
    // Two passes, 30 shapes at a time: first every applicable shape's key and bit, with no branch on a
    // bit (so the CPU fetches the bits, cold in memory, in parallel), then the slots of the shapes whose
    // bit is set.
    const shapes = this.#shapes;
    const keys = KEYS;
    const bits = this.#bits;
    const mask = this.#mask;
    const entries = this.#entries;
    const next = this.#next;
    for (let from = 0; from < shapes.length; from += 30) {
      const to = Math.min(shapes.length, from + 30);
      let found = 0;
      for (let s = from; s < to; s++) {
        const shape = shapes[s]!;
        if (shape.hash ? shape.depth > count : shape.depth !== count) continue;
        const key = shape.key(hashes);
        keys[s - from] = key;
        const bit = (key ^ shape.salt) & mask;
        found |= ((bits[bit >>> 5]! >>> (bit & 31)) & 1) << (s - from);
      }
      while (found !== 0) {
        const i = 31 - Math.clz32(found & -found);
        found &= found - 1;
        const slot = this.#find(shapes[from + i]!, keys[i]!);
        if (slot < 0) continue;
        for (let e = this.#slots[slot + 2]! - 1; e >= 0; e = next[e]! - 1) {
          if (matchValid(entries[2 * e] as string, topic)) out.push(entries[2 * e + 1] as T);
        }
      }
    }
    return out;
  }
}

/** Where (shape, key) starts probing the table: its bits are not the bit array's, so the two do not correlate. */
function slotOf(shape: Shape, key: number): number {
  return Math.imul(key ^ shape.salt, 0x85ebca6b) >>> 7;
}

/** True when a valid filter has no `+` or `#`: then it relates to a filter exactly as its one topic does. */
export function isLiteralFilter(filter: string): boolean {
  for (let i = 0; i < filter.length; i++) {
    const c = filter.charCodeAt(i);
    if (c === PLUS || c === HASH) return false;
  }
  return true;
}

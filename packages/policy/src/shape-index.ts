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
 * of the right depth has one key in the shape (its levels at the literal places), so one `Map` lookup by
 * an integer finds the filters of the shape that can match it.
 */
class Shape<T> {
  /** Levels before any `#`. */
  readonly depth: number;
  readonly hash: boolean;
  /** Indexes of the literal levels. */
  readonly literals: readonly number[];
  /** For ordering shapes: one symbol per level, see {@link symbols}. */
  readonly symbols: string;
  /** Key → filter and value pairs (`[filter, value, filter, value, …]`) in the order they were added. */
  readonly buckets = new Map<number, (string | T)[]>();
  /** Mixed into a key's bit in the index's {@link ShapeIndex} filter so that shapes do not share bits. */
  readonly salt: number;

  constructor(levels: readonly string[], salt: number) {
    this.salt = salt;
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
    // An integer that V8 keeps unboxed (a Smi): Map lookups then hash and compare it cheaply.
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

/**
 * Many topic filters with a value each, answering "which filters match this topic name?" by hashing:
 * for each shape of filter present (e.g. `L/+/L`, `L/L/#`), the topic's key in that shape finds the
 * only filters of the shape that can match, and each is confirmed with {@link matchValid} (a hash
 * collision costs a comparison, never a wrong answer). A lookup costs one integer `Map` lookup per
 * applicable shape instead of one string lookup per trie level; worth it while the shapes are few.
 * Results are the values a {@link TopicIndex} with the same filters would give, in the same order.
 */
export class ShapeIndex<T> {
  /**
   * While the index is small: its filter and value pairs (`[filter, value, …]`), sorted by shape
   * symbols (stable), each checked with {@link matchValid}. A principal's own table holds a few rules
   * per action: shapes, their `Map`s and bits would be most of its memory.
   */
  #list: (string | T)[] | undefined = [];
  /** Shapes sorted by {@link Shape.symbols}. */
  readonly #shapes: Shape<T>[] = [];
  #size = 0;
  /**
   * One bit per (shape, key) present, at least 16 bits per key: most lookups of a shape find no filter,
   * and this small array (in cache) says so without reading the shape's large `Map` (not in cache).
   * A set bit may be another key's: then the `Map` answers.
   */
  #bits = new Int32Array(1);
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
      shape = new Shape<T>(levels, Math.imul(this.#shapes.length + 1, 0x9e3779b1));
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
    const bucket = shape.buckets.get(key);
    if (bucket) bucket.push(plain, value);
    else shape.buckets.set(key, [plain, value]);
    this.#size++;
    if (this.#size * 16 > this.#mask + 1) this.#resize();
    this.#mark(shape, key);
  }

  #mark(shape: Shape<T>, key: number): void {
    const bit = (key ^ shape.salt) & this.#mask;
    this.#bits[bit >>> 5]! |= 1 << (bit & 31);
  }

  /** Four times the bits, every key marked again. */
  #resize(): void {
    this.#mask = (this.#mask + 1) * 4 - 1;
    this.#bits = new Int32Array((this.#mask + 1) >>> 5);
    for (const shape of this.#shapes) for (const key of shape.buckets.keys()) this.#mark(shape, key);
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
    // bit (so the CPU fetches the bits, cold in memory, in parallel), then the Maps of the shapes whose
    // bit is set.
    const shapes = this.#shapes;
    const keys = KEYS;
    const bits = this.#bits;
    const mask = this.#mask;
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
        const bucket = shapes[from + i]!.buckets.get(keys[i]!);
        if (bucket === undefined) continue;
        for (let k = 0; k < bucket.length; k += 2) {
          if (matchValid(bucket[k] as string, topic)) out.push(bucket[k + 1] as T);
        }
      }
    }
    return out;
  }
}

/** True when a valid filter has no `+` or `#`: then it relates to a filter exactly as its one topic does. */
export function isLiteralFilter(filter: string): boolean {
  for (let i = 0; i < filter.length; i++) {
    const c = filter.charCodeAt(i);
    if (c === PLUS || c === HASH) return false;
  }
  return true;
}

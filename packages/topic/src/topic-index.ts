import { parentIsEmptyTopic } from './filter-relations.js';
import { plainFilter } from './parse-subscription.js';
import { TopicError } from './topic-error.js';
import { topicNameProblem } from './validate.js';

/**
 * One trie level. Fields stay undefined until used: most nodes of a large index are leaves. The first
 * literal child sits in the node itself rather than in a Map: in a large index most nodes have one
 * child, and each Map is two more objects to fetch from memory on every lookup.
 */
class Node<T> {
  /** Level of the first literal child (`child`). */
  key: string | undefined;
  child: Node<T> | undefined;
  /** Further children by literal level. */
  literal: Map<string, Node<T>> | undefined;
  /** The `+` child. */
  plus: Node<T> | undefined;
  /** Values of filters that end with `#` here (`prefix/#`, or `#` at the root). */
  hash: T[] | undefined;
  /** Values of filters that end exactly here. */
  values: T[] | undefined;

  get(level: string): Node<T> | undefined {
    return this.key === level ? this.child : this.literal?.get(level);
  }

  /** Adds a literal child; `level` must not have one yet. */
  set(level: string, child: Node<T>): void {
    if (this.child === undefined) {
      this.key = level;
      this.child = child;
    } else {
      this.literal ??= new Map();
      this.literal.set(level, child);
    }
  }

  delete(level: string): void {
    if (this.key === level) {
      this.key = undefined;
      this.child = undefined;
    } else {
      this.literal?.delete(level);
    }
  }

  /** Calls `visit` for each literal child. */
  forEachLiteral(visit: (child: Node<T>, level: string) => void): void {
    if (this.child) visit(this.child, this.key!);
    this.literal?.forEach(visit);
  }

  isEmpty(): boolean {
    return !this.child && !this.literal?.size && !this.plus && !this.hash && !this.values;
  }
}

/**
 * Short level strings shared by every index, so that equal keys of many nodes are one string that stays
 * in the CPU caches; comparing a topic level with a key then reads no cold memory. Only an optimization:
 * it is emptied when it grows large, and a key that is not shared compares just as correctly. Longer
 * levels are not kept: V8 makes a substring of 13 or more characters a view of the whole filter, which
 * this table would keep alive after the filter is removed.
 */
const LEVELS = new Map<string, string>();
const MAX_LEVELS = 100_000;
const MAX_SHARED_LENGTH = 12;

function shared(level: string): string {
  if (level.length > MAX_SHARED_LENGTH) return level;
  const known = LEVELS.get(level);
  if (known !== undefined) return known;
  if (LEVELS.size >= MAX_LEVELS) LEVELS.clear();
  LEVELS.set(level, level);
  return level;
}

const DOLLAR = 36;

/**
 * Many topic filters with a value each, indexed as a trie of levels so that lookups cost the depth of
 * the topic rather than the number of filters. The MQTT rules of {@link matchTopic}, {@link filterCovers}
 * and {@link filtersOverlap} hold, including the `$` rule. A filter may be added with several values; a
 * value added under several filters is returned once per matching filter.
 *
 * @example
 * ```ts
 * const index = new TopicIndex<string>();
 * index.add('devices/+/telemetry', 'read-telemetry');
 * index.add('devices/#', 'ops');
 * index.match('devices/d1/telemetry');   // ['ops', 'read-telemetry'] (order unspecified)
 * index.covering('devices/d1/#');        // ['ops']
 * index.overlapping('devices/d1/#');     // ['ops', 'read-telemetry']
 * ```
 */
export class TopicIndex<T> {
  readonly #root = new Node<T>();
  #size = 0;

  /** Number of (filter, value) entries. */
  get size(): number {
    return this.#size;
  }

  /** Adds `value` under `filter` (a `$share/{group}/` prefix is ignored). Throws a TopicError for an invalid filter. */
  add(filter: string, value: T): void {
    let node = this.#root;
    const levels = plainFilter(filter).split('/');
    const last = levels.length - 1;
    for (let i = 0; i < last || (i === last && levels[i] !== '#'); i++) {
      const level = levels[i]!;
      if (level === '+') {
        node.plus ??= new Node<T>();
        node = node.plus;
      } else {
        let child = node.get(level);
        if (!child) {
          child = new Node<T>();
          node.set(shared(level), child);
        }
        node = child;
      }
    }
    // A first value gets an array of exactly one element (`[]` then push would reserve 17).
    if (levels[last] === '#') {
      if (node.hash) node.hash.push(value);
      else node.hash = [value];
    } else if (node.values) {
      node.values.push(value);
    } else {
      node.values = [value];
    }
    this.#size++;
  }

  /** Removes one entry of `value` under `filter`; returns whether it was there. */
  remove(filter: string, value: T): boolean {
    const levels = plainFilter(filter).split('/');
    const path: Node<T>[] = [this.#root];
    const hashEnd = levels[levels.length - 1] === '#';
    const depth = hashEnd ? levels.length - 1 : levels.length;
    let node: Node<T> | undefined = this.#root;
    for (let i = 0; i < depth && node; i++) {
      const level = levels[i]!;
      node = level === '+' ? node.plus : node.get(level);
      if (node) path.push(node);
    }
    if (!node) return false;
    const list = hashEnd ? node.hash : node.values;
    const at = list ? list.indexOf(value) : -1;
    if (!list || at === -1) return false;
    list.splice(at, 1);
    if (list.length === 0) {
      if (hashEnd) node.hash = undefined;
      else node.values = undefined;
    }
    this.#size--;
    // Prune nodes left empty, from the leaf up.
    for (let i = path.length - 1; i > 0 && path[i]!.isEmpty(); i--) {
      const parent = path[i - 1]!;
      const level = levels[i - 1]!;
      if (level === '+') parent.plus = undefined;
      else parent.delete(level);
    }
    return true;
  }

  /** Values of every filter that matches the topic name. Throws a TopicError for an invalid name. */
  match(topic: string): T[] {
    const problem = topicNameProblem(topic);
    if (problem) throw new TopicError(problem);
    return this.matchLevels(topic.split('/'));
  }

  /** Values of every filter that covers the subscription filter (see {@link filterCovers}). */
  covering(filter: string): T[] {
    return this.coveringLevels(plainFilter(filter).split('/'));
  }

  /** Values of every filter that some topic matched by `filter` also matches (see {@link filtersOverlap}). */
  overlapping(filter: string): T[] {
    return this.overlappingLevels(plainFilter(filter).split('/'));
  }

  /**
   * {@link match} for the levels of a topic name the caller has already validated (`name.split('/')`),
   * appending to `out`. For hot paths that make several lookups with one topic; no validation here.
   */
  matchLevels(levels: readonly string[], out: T[] = []): T[] {
    matchNode(this.#root, levels, 0, levels[0]!.charCodeAt(0) === DOLLAR, out);
    return out;
  }

  /** {@link covering} for the levels of an already validated plain filter, appending to `out`. */
  coveringLevels(levels: readonly string[], out: T[] = []): T[] {
    coverNode(this.#root, levels, 0, levels[0]!.charCodeAt(0) === DOLLAR, out);
    return out;
  }

  /** {@link overlapping} for the levels of an already validated plain filter, appending to `out`. */
  overlappingLevels(levels: readonly string[], out: T[] = []): T[] {
    overlapNode(this.#root, levels, 0, false, out);
    return out;
  }
}

function push<T>(out: T[], values: T[] | undefined): void {
  if (values) for (const v of values) out.push(v);
}

function matchNode<T>(node: Node<T>, levels: readonly string[], i: number, dollar: boolean, out: T[]): void {
  // A wildcard at the first level never matches a `$` topic [MQTT-4.7.2-1].
  const wild = i > 0 || !dollar;
  if (wild) push(out, node.hash);
  if (i === levels.length) {
    push(out, node.values);
    return;
  }
  const child = node.get(levels[i]!);
  if (child) matchNode(child, levels, i + 1, dollar, out);
  if (wild && node.plus) matchNode(node.plus, levels, i + 1, dollar, out);
}

function coverNode<T>(node: Node<T>, levels: readonly string[], i: number, dollar: boolean, out: T[]): void {
  const wild = i > 0 || !dollar;
  if (wild) push(out, node.hash);
  if (i === levels.length) {
    push(out, node.values);
    return;
  }
  const level = levels[i]!;
  if (level === '#') {
    // Only `#` covers `#`, handled above; `+/#` does too when the parent topic would be empty.
    if (wild && parentIsEmptyTopic(levels, i)) push(out, node.plus?.hash);
    return;
  }
  if (level !== '+') {
    const child = node.get(level);
    if (child) coverNode(child, levels, i + 1, dollar, out);
  }
  if (wild && node.plus) coverNode(node.plus, levels, i + 1, dollar, out);
}

/**
 * `emptyFirst`: at depth 1, whether the common topic's first level is forced to be empty. A common topic
 * of exactly that one level would be the empty string, which is not a topic name.
 */
function overlapNode<T>(
  node: Node<T>,
  levels: readonly string[],
  i: number,
  emptyFirst: boolean,
  out: T[],
): void {
  const level = levels[i];
  const atRoot = i === 0;
  const onlyEmptyTopic = emptyFirst && i === 1;
  // At the root, a filter beginning with a `$` literal and one beginning with a wildcard share no topic.
  const dollar = atRoot && level !== undefined && level.charCodeAt(0) === DOLLAR;
  if (!dollar && !(onlyEmptyTopic && level === undefined)) push(out, node.hash);
  if (level === undefined) {
    push(out, node.values);
    return;
  }
  if (level === '#') {
    collectAll(node, atRoot, onlyEmptyTopic, out);
    return;
  }
  if (level === '+') {
    node.forEachLiteral((child, key) => {
      if (!(atRoot && key.charCodeAt(0) === DOLLAR))
        overlapNode(child, levels, i + 1, atRoot && key === '', out);
    });
  } else {
    const child = node.get(level);
    if (child) overlapNode(child, levels, i + 1, atRoot && level === '', out);
  }
  if (!dollar && node.plus) overlapNode(node.plus, levels, i + 1, atRoot && level === '', out);
}

/**
 * Everything at or below `node` except its own `hash` (already taken); skips `$` subtrees at the root,
 * and filters ending here when their only common topic would be the empty string.
 */
function collectAll<T>(node: Node<T>, atRoot: boolean, onlyEmptyTopic: boolean, out: T[]): void {
  if (!onlyEmptyTopic) push(out, node.values);
  node.forEachLiteral((child, key) => {
    if (atRoot && key.charCodeAt(0) === DOLLAR) return;
    push(out, child.hash);
    collectAll(child, false, false, out);
  });
  if (node.plus) {
    push(out, node.plus.hash);
    collectAll(node.plus, false, false, out);
  }
}

import { type Clock, guardClock } from './coarse-clock.js';
import type { Decision } from './types.js';

// Counted costs, from V8 heap measurements (64-bit, no pointer compression) with room for a Map's
// half-empty table after it grows: a topic's entry (map slot, entry object, string header) besides its
// characters, counted at two bytes each, which over-counts one-byte strings; a topic's second decision
// (the small map it starts); each further decision (a map slot).
const TOPIC_BYTES = 128;
const MORE_BYTES = 224;
const DECISION_BYTES = 64;
// Decisions a packed entry can name (the cache's table of them), and the largest packed entry.
const PACKED_DECISIONS = 128;
const PACKED_MAX = 2 ** 31 - 1;

/**
 * `text` in a string of its own. A topic cut from a request (a slice, or a concatenation of slices: V8
 * makes them of 13 chars or more) keeps the whole of what it was cut from alive while the cache keeps it,
 * beyond the bytes the cache counts: a client could make each cached topic hold a long body (a long
 * client id, padding in another key). `JSON.parse` builds its strings afresh; the round trip is exact for
 * every string (lone surrogates are written as escapes). Only a topic's first store pays for it.
 */
function ownCopy(text: string): string {
  return JSON.parse(JSON.stringify(text)) as string;
}

/** What the decision cache holds: decisions, topic entries and their counted bytes, both generations. */
export interface DecisionCacheUsage {
  readonly decisions: number;
  readonly topics: number;
  readonly bytes: number;
}

/** A topic's decisions: most topics are asked about by one principal, so the first sits inline. */
class TopicDecisions {
  key: number;
  decision: Decision;
  more: Map<number, Decision> | undefined = undefined;

  constructor(key: number, decision: Decision) {
    this.key = key;
    this.decision = decision;
  }

  find(key: number): Decision | undefined {
    return this.key === key ? this.decision : this.more?.get(key);
  }
}

/**
 * A topic's entry: its only decision packed with its key into one number (`key * 128 + index` in the
 * cache's table of decisions, below 2^31 so that V8 keeps it unboxed in the map's own table: a hit then
 * reads no other object), or a {@link TopicDecisions}.
 */
type TopicEntry = number | TopicDecisions;

class Generation {
  readonly topics = new Map<string, TopicEntry>();
  decisions = 0;
  bytes = 0;

  /** When its oldest decision was stored, or earlier. */
  constructor(public born: number) {}
}

/**
 * The guard's decision cache: decisions grouped by topic, each under a small integer key (principal
 * number and request slot, see `DecisionKeys`), in two generations of at most `max / 2` decisions and
 * `maxBytes / 2` counted bytes each. A hit is one `Map.get` of the topic string and, for a topic that more
 * than one principal or kind of request asked about, one small-integer `Map.get`: nothing is built,
 * moved or relinked. New decisions go into the current generation; when it is full, or half the TTL
 * after it began, it becomes the previous one and the old previous is dropped, so entries are forgotten a
 * generation at a time, never all at once. A hit in the previous generation, while that is younger than
 * a quarter of the TTL (generations turned by size), is stored again in the current one, so that what is
 * asked for often survives the turns. A decision is never served more than `ttlMs` after it was stored:
 * a generation's birth is when its oldest decision was stored (a promoted one takes its old
 * generation's), the current generation is younger than half the TTL, the previous one is dropped a TTL
 * after it began.
 *
 * @example
 * ```ts
 * const cache = new DecisionCache({ max: 100_000, maxBytes: 16 * 2 ** 20, ttlMs: 60_000 });
 * cache.set('devices/dev1/telemetry', key, decision);
 * cache.get('devices/dev1/telemetry', key); // decision, until it ages out or newer entries push it out
 * ```
 */
export class DecisionCache {
  readonly #half: number;
  readonly #halfBytes: number;
  readonly #ttl: number;
  readonly #halfTtl: number;
  readonly #clock: Clock;
  #current: Generation;
  #previous: Generation | undefined = undefined;
  // The decisions packed entries name (the authorizer's shared ones, in practice): at most 128, kept
  // until the cache is cleared.
  #decisions: Decision[] = [];
  #decisionIndex = new Map<Decision, number>();

  /**
   * Without `now` or `clock`, the time comes from a {@link CoarseClock} lagging at most `ttlMs / 4` (100 ms
   * at most); generations age by the TTL less the clock's lag, so that the TTL still holds.
   */
  constructor(options: {
    readonly max: number;
    readonly maxBytes: number;
    readonly ttlMs: number;
    readonly now?: () => number;
    readonly clock?: Clock;
  }) {
    this.#half = Math.max(1, Math.floor(options.max / 2));
    this.#halfBytes = Math.floor(options.maxBytes / 2);
    this.#clock = options.clock ?? guardClock(DecisionCache.lagFor(options.ttlMs), options.now);
    this.#ttl = options.ttlMs - this.#clock.lagMs;
    this.#halfTtl = this.#ttl / 2;
    this.#current = new Generation(this.#clock.now());
  }

  /** The lag a coarse clock may have for this TTL: a quarter of it, 100 ms at most. */
  static lagFor(ttlMs: number): number {
    return Math.min(100, Math.floor(ttlMs / 4));
  }

  /** Decisions held, both generations. */
  get size(): number {
    return this.#current.decisions + (this.#previous?.decisions ?? 0);
  }

  get usage(): DecisionCacheUsage {
    const previous = this.#previous;
    return {
      decisions: this.size,
      topics: this.#current.topics.size + (previous?.topics.size ?? 0),
      bytes: this.#current.bytes + (previous?.bytes ?? 0),
    };
  }

  get(topic: string, key: number): Decision | undefined {
    const now = this.#clock.now();
    if (now - this.#current.born >= this.#halfTtl) this.#rotate(now);
    const decision = this.#find(this.#current.topics.get(topic), key);
    const previous = this.#previous;
    if (decision !== undefined || previous === undefined) return decision;
    if (now - previous.born >= this.#ttl) {
      this.#previous = undefined;
      return undefined;
    }
    const old = this.#find(previous.topics.get(topic), key);
    // A hit in the previous generation moves to the current one, so that what is asked for often outlives
    // generation turns; only from a young previous generation (turned by size, not by age), as the current
    // one then takes the previous one's birth and must not age much by it.
    if (old !== undefined && now - previous.born < this.#halfTtl / 2)
      this.#store(topic, key, old, previous.born);
    return old;
  }

  set(topic: string, key: number, decision: Decision): void {
    this.#store(topic, key, decision, undefined);
  }

  clear(): void {
    this.#current = new Generation(this.#clock.now());
    this.#previous = undefined;
    this.#decisions = [];
    this.#decisionIndex = new Map();
  }

  #find(entry: TopicEntry | undefined, key: number): Decision | undefined {
    if (typeof entry === 'number') return entry >>> 7 === key ? this.#decisions[entry & 127] : undefined;
    return entry?.find(key);
  }

  /** The entry packing `key` with `decision`, or -1 when the key is too large or the table is full. */
  #pack(key: number, decision: Decision): number {
    let index = this.#decisionIndex.get(decision);
    if (index === undefined) {
      if (this.#decisions.length === PACKED_DECISIONS) return -1;
      index = this.#decisions.push(decision) - 1;
      this.#decisionIndex.set(decision, index);
    }
    const packed = key * PACKED_DECISIONS + index;
    return packed <= PACKED_MAX ? packed : -1;
  }

  /** `born`: when a promoted decision's generation began (it was stored then or later), else undefined. */
  #store(topic: string, key: number, decision: Decision, born: number | undefined): void {
    let current = this.#current;
    let entry = current.topics.get(topic);
    if (entry !== undefined && this.#find(entry, key) !== undefined) {
      if (born !== undefined) return;
      if (typeof entry === 'number') current.topics.set(topic, this.#entry(key, decision));
      else if (entry.key === key) entry.decision = decision;
      else entry.more?.set(key, decision);
      return;
    }
    const topicBytes = TOPIC_BYTES + topic.length * 2;
    // A topic too long for a generation by itself is not cached at all.
    if (topicBytes > this.#halfBytes) return;
    let bytes =
      entry === undefined
        ? topicBytes
        : typeof entry === 'number' || entry.more === undefined
          ? MORE_BYTES
          : DECISION_BYTES;
    if (current.decisions >= this.#half || current.bytes + bytes > this.#halfBytes) {
      // A promotion never turns a generation: that would drop the one it came from.
      if (born !== undefined) return;
      this.#rotate(this.#clock.now());
      current = this.#current;
      entry = undefined;
      bytes = topicBytes;
    }
    // The current generation is dropped a TTL after its oldest decision was stored.
    if (born !== undefined && born < current.born) current.born = born;
    current.decisions++;
    current.bytes += bytes;
    if (entry === undefined) {
      current.topics.set(ownCopy(topic), this.#entry(key, decision));
      return;
    }
    if (typeof entry === 'number') {
      // A second key on the topic: the packed decision moves into an object with room for more.
      entry = new TopicDecisions(entry >>> 7, this.#decisions[entry & 127]!);
      current.topics.set(topic, entry);
    }
    entry.more ??= new Map();
    entry.more.set(key, decision);
  }

  /** A topic's entry for its first decision: packed when it can be. */
  #entry(key: number, decision: Decision): TopicEntry {
    const packed = this.#pack(key, decision);
    return packed >= 0 ? packed : new TopicDecisions(key, decision);
  }

  #rotate(now: number): void {
    // A generation older than the TTL has nothing left to serve.
    this.#previous = now - this.#current.born < this.#ttl ? this.#current : undefined;
    this.#current = new Generation(now);
  }
}

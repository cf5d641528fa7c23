import { type Clock, guardClock } from './coarse-clock.js';
import { ownString } from './own-string.js';
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

/** What the decision cache holds: decisions, topic entries and their counted bytes, both generations. */
export interface DecisionCacheUsage {
  readonly decisions: number;
  readonly topics: number;
  readonly bytes: number;
}

/** A topic's decisions: most topics are asked about by one principal, so the first sits inline. */
class TopicDecisions {
  key: number;
  // Undefined (and `key` -1) only in an older generation, once its inline decision moved out.
  decision: Decision | undefined;
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

/** Decisions in an entry. */
function countOf(entry: TopicEntry): number {
  if (typeof entry === 'number') return 1;
  return (entry.decision === undefined ? 0 : 1) + (entry.more?.size ?? 0);
}

/**
 * An entry's counted bytes: its topic's, and a second decision's and each further one's while it has the
 * map of them (the inline slot is counted with the topic, filled or not). What `#store` adds up.
 */
function bytesOf(topic: string, entry: TopicEntry): number {
  const more = typeof entry === 'number' ? undefined : entry.more;
  return (
    TOPIC_BYTES + topic.length * 2 + (more === undefined ? 0 : MORE_BYTES + (more.size - 1) * DECISION_BYTES)
  );
}

class Generation {
  readonly topics = new Map<string, TopicEntry>();
  decisions = 0;
  bytes = 0;

  /** When its oldest decision was stored, or earlier. */
  constructor(public born: number) {}
}

/**
 * The guard's decision cache: decisions grouped by topic, each under a small integer key (principal
 * number and request slot, see `DecisionKeys`), at most `max` decisions and `maxBytes` counted bytes in
 * all. A hit is one `Map.get` of the topic string and, for a topic that more than one principal or kind of
 * request asked about, one small-integer `Map.get`: nothing is built, moved or relinked.
 *
 * New decisions go into the current generation; when it holds `max / 2` decisions or `maxBytes / 2`
 * bytes it becomes the previous one and the previous one the oldest, once the oldest is empty (until
 * then the current one grows on). When a new decision would go over a bound, the oldest generation's
 * oldest topics go first (a topic with its decisions for every key), then the previous one's: entries are
 * forgotten oldest first, never all at once, and those of a generation that turned have some `max / 2`
 * new decisions' time to be asked for again before the first of them go. A hit in an older generation
 * moves to the current one (it leaves the older one), while that generation is younger than a quarter of
 * the TTL: so up to `max` decisions asked for again and again (and no new ones) stay cached whatever the
 * turns. Half the TTL after it began, the current generation turns whatever its size, and the oldest is
 * dropped. A decision is never served more than `ttlMs` after it was stored: a generation's birth is when
 * its oldest decision was stored (a moved one takes its old generation's), the current generation is
 * younger than half the TTL, an older one is dropped a TTL after it began.
 *
 * @example
 * ```ts
 * const cache = new DecisionCache({ max: 100_000, maxBytes: 16 * 2 ** 20, ttlMs: 60_000 });
 * cache.set('devices/dev1/telemetry', key, decision);
 * cache.get('devices/dev1/telemetry', key); // decision, until it ages out or newer entries push it out
 * ```
 */
export class DecisionCache {
  readonly #max: number;
  readonly #maxBytes: number;
  readonly #half: number;
  readonly #halfBytes: number;
  readonly #ttl: number;
  readonly #halfTtl: number;
  readonly #clock: Clock;
  #current: Generation;
  #previous: Generation | undefined = undefined;
  #oldest: Generation | undefined = undefined;
  // The older generation being pushed out and its topics, oldest first (`Map` iterators go on past
  // deletions): kept from one decision pushed out to the next, so that each goes in constant time.
  #pushing: Generation | undefined = undefined;
  #pushOrder: MapIterator<[string, TopicEntry]> | undefined = undefined;
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
    this.#max = Math.max(1, Math.floor(options.max));
    this.#maxBytes = Math.floor(options.maxBytes);
    this.#half = Math.max(1, Math.floor(this.#max / 2));
    this.#halfBytes = Math.floor(this.#maxBytes / 2);
    this.#clock = options.clock ?? guardClock(DecisionCache.lagFor(options.ttlMs), options.now);
    this.#ttl = options.ttlMs - this.#clock.lagMs;
    this.#halfTtl = this.#ttl / 2;
    this.#current = new Generation(this.#clock.now());
  }

  /** The lag a coarse clock may have for this TTL: a quarter of it, 100 ms at most. */
  static lagFor(ttlMs: number): number {
    return Math.min(100, Math.floor(ttlMs / 4));
  }

  /** Decisions held, all generations. */
  get size(): number {
    return this.#current.decisions + (this.#previous?.decisions ?? 0) + (this.#oldest?.decisions ?? 0);
  }

  get usage(): DecisionCacheUsage {
    const { size } = this;
    let topics = this.#current.topics.size;
    let bytes = this.#current.bytes;
    for (const older of [this.#previous, this.#oldest]) {
      topics += older?.topics.size ?? 0;
      bytes += older?.bytes ?? 0;
    }
    return { decisions: size, topics, bytes };
  }

  get(topic: string, key: number): Decision | undefined {
    const now = this.#clock.now();
    if (now - this.#current.born >= this.#halfTtl) this.#turn(now);
    const decision = this.#find(this.#current.topics.get(topic), key);
    if (decision !== undefined || this.#previous === undefined) return decision;
    return this.#getOlder(topic, key, now);
  }

  set(topic: string, key: number, decision: Decision): void {
    // Not into a generation that the next lookup would turn (after a lull with no lookups).
    const now = this.#clock.now();
    if (now - this.#current.born >= this.#halfTtl) this.#turn(now);
    this.#store(topic, key, decision, undefined);
  }

  clear(): void {
    this.#current = new Generation(this.#clock.now());
    this.#previous = undefined;
    this.#oldest = undefined;
    this.#forgetPushOrder();
    this.#decisions = [];
    this.#decisionIndex = new Map();
  }

  /** A lookup that missed the current generation, in the older ones. */
  #getOlder(topic: string, key: number, now: number): Decision | undefined {
    // Each is dropped a TTL after it began.
    if (this.#oldest !== undefined && now - this.#oldest.born >= this.#ttl) this.#dropOldest();
    if (this.#previous !== undefined && now - this.#previous.born >= this.#ttl) {
      // (Moved decisions can make it older than the oldest one.)
      this.#previous = this.#oldest;
      this.#oldest = undefined;
      if (this.#pushing !== this.#previous) this.#forgetPushOrder();
    }
    // The previous generation first: a decision set again since an older one was is there, or newer.
    return this.#getIn(this.#previous, topic, key, now) ?? this.#getIn(this.#oldest, topic, key, now);
  }

  #getIn(older: Generation | undefined, topic: string, key: number, now: number): Decision | undefined {
    if (older === undefined) return undefined;
    const entry = older.topics.get(topic);
    const decision = this.#find(entry, key);
    // A hit in an older generation moves to the current one, so that what is asked for again outlives
    // the turns; only from a young generation (turned by size, not by age), as the current one then takes
    // its birth: moved from an older one, it would turn by age at once, and what was stored in it since
    // would be dropped early.
    if (decision !== undefined && now - older.born < this.#halfTtl / 2) {
      this.#take(older, topic, entry!, key);
      this.#store(topic, key, decision, older.born);
    }
    return decision;
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

  /**
   * `born`: when a moved decision's generation began (it was stored then or later), else undefined. A
   * moved decision does not replace one stored for its key since.
   */
  #store(topic: string, key: number, decision: Decision, born: number | undefined): void {
    const topicBytes = TOPIC_BYTES + topic.length * 2;
    // A topic too long for a generation by itself is not cached at all.
    if (topicBytes > this.#halfBytes) return;
    let current = this.#current;
    let entry = current.topics.get(topic);
    if (entry !== undefined && this.#find(entry, key) !== undefined) {
      if (born !== undefined) return;
      if (typeof entry === 'number') current.topics.set(topic, this.#entry(key, decision));
      else if (entry.key === key) entry.decision = decision;
      else entry.more?.set(key, decision);
      return;
    }
    for (;;) {
      const bytes =
        entry === undefined
          ? topicBytes
          : typeof entry === 'number' || entry.more === undefined
            ? MORE_BYTES
            : DECISION_BYTES;
      const full = current.decisions >= this.#half || current.bytes + bytes > this.#halfBytes;
      const oldest = this.#oldest;
      if (!full || (oldest !== undefined && oldest.decisions > 0)) {
        // Room for it within the bounds, pushing out the oldest generation's oldest topics, then the
        // previous one's.
        const previous = this.#previous;
        const older = oldest !== undefined && oldest.decisions > 0 ? oldest : previous;
        if (
          current.decisions + (previous?.decisions ?? 0) + (oldest?.decisions ?? 0) < this.#max &&
          current.bytes + (previous?.bytes ?? 0) + (oldest?.bytes ?? 0) + bytes <= this.#maxBytes
        ) {
          this.#add(current, topic, entry, key, decision, bytes, born);
          return;
        }
        if (older !== undefined && older.decisions > 0) {
          this.#pushOut(older);
          continue;
        }
      }
      // Full, with the oldest generation empty (or, should the counts ever be off, nothing older to push
      // out): a turn, which drops nothing.
      this.#turn(this.#clock.now());
      current = this.#current;
      entry = undefined;
    }
  }

  #add(
    current: Generation,
    topic: string,
    entry: TopicEntry | undefined,
    key: number,
    decision: Decision,
    bytes: number,
    born: number | undefined,
  ): void {
    // The current generation is dropped a TTL after its oldest decision was stored.
    if (born !== undefined && born < current.born) current.born = born;
    current.decisions++;
    current.bytes += bytes;
    if (entry === undefined) {
      current.topics.set(ownString(topic), this.#entry(key, decision));
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

  /** Takes `key`'s decision out of an older generation's `entry` for `topic`, to move it. */
  #take(older: Generation, topic: string, entry: TopicEntry, key: number): void {
    older.decisions--;
    if (typeof entry !== 'number' && entry.more !== undefined) {
      const more = entry.more;
      if (entry.key === key) {
        // The inline slot is counted with the topic: it stays, empty.
        entry.key = -1;
        entry.decision = undefined;
        return;
      }
      if (more.size > 1) {
        more.delete(key);
        older.bytes -= DECISION_BYTES;
        return;
      }
      if (entry.decision !== undefined) {
        entry.more = undefined;
        older.bytes -= MORE_BYTES;
        return;
      }
    }
    // Its last decision: the topic goes.
    older.topics.delete(topic);
    older.bytes -= bytesOf(topic, entry);
    if (older.decisions === 0 && older === this.#oldest) this.#dropOldest();
  }

  /** Forgets an older generation's oldest topic, with its decisions for every key. */
  #pushOut(older: Generation): void {
    if (this.#pushing !== older) {
      this.#pushing = older;
      this.#pushOrder = older.topics.entries();
    }
    const next = this.#pushOrder!.next();
    if (next.done === true) {
      // Not while it holds decisions; should the counts ever be off, it is empty.
      older.decisions = 0;
      older.bytes = 0;
      return;
    }
    const [topic, entry] = next.value;
    older.topics.delete(topic);
    older.decisions -= countOf(entry);
    older.bytes -= bytesOf(topic, entry);
    if (older.decisions === 0 && older === this.#oldest) this.#dropOldest();
  }

  /**
   * The current generation becomes the previous one (unless older than the TTL), the previous one the
   * oldest; the oldest is dropped (a turn by size waits until it is empty).
   */
  #turn(now: number): void {
    const current = this.#current;
    // A generation older than the TTL has nothing left to serve (moved decisions can make the current one
    // older than the previous one).
    const previous =
      this.#previous !== undefined && now - this.#previous.born < this.#ttl ? this.#previous : undefined;
    if (now - current.born < this.#ttl) {
      this.#oldest = previous;
      this.#previous = current;
    } else {
      this.#oldest = undefined;
      this.#previous = previous;
    }
    this.#current = new Generation(now);
    if (this.#pushing !== this.#previous && this.#pushing !== this.#oldest) this.#forgetPushOrder();
  }

  #dropOldest(): void {
    this.#oldest = undefined;
    if (this.#pushing !== this.#previous) this.#forgetPushOrder();
  }

  #forgetPushOrder(): void {
    this.#pushing = undefined;
    this.#pushOrder = undefined;
  }
}

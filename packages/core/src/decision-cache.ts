import { CoarseClock } from './coarse-clock.js';
import type { Decision } from './types.js';

// Counted costs, from V8 heap measurements (64-bit, no pointer compression) with room for a Map's
// half-empty table after it grows: a topic's entry (map slot, entry object, string header) besides its
// characters, counted at two bytes each, which over-counts one-byte strings; a topic's second decision
// (the small map it starts); each further decision (a map slot).
const TOPIC_BYTES = 128;
const MORE_BYTES = 224;
const DECISION_BYTES = 64;

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

class Generation {
  readonly topics = new Map<string, TopicDecisions>();
  decisions = 0;
  bytes = 0;

  constructor(readonly born: number) {}
}

/**
 * The guard's decision cache: decisions grouped by topic, each under a small integer key (principal
 * number and request slot, see `DecisionKeys`), in two generations of at most `max / 2` decisions and
 * `maxBytes / 2` counted bytes each. A hit is one `Map.get` of the topic string and, for a topic that more
 * than one principal or kind of request asked about, one small-integer `Map.get`: nothing is built,
 * moved or relinked. New decisions go into the current generation; when it is full, or half the TTL
 * after it began, it becomes the previous one and the old previous is dropped, so entries are forgotten a
 * generation at a time, never all at once, and a decision is never served more than `ttlMs` after it
 * was stored: the current generation is younger than half the TTL, the previous one is dropped a TTL
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
  readonly #clock: { now(): number };
  #current: Generation;
  #previous: Generation | undefined = undefined;

  /**
   * Without `now`, the time comes from a {@link CoarseClock} lagging at most `ttlMs / 4` (100 ms at
   * most), and generations age by the TTL less that lag, so that the TTL still holds.
   */
  constructor(options: {
    readonly max: number;
    readonly maxBytes: number;
    readonly ttlMs: number;
    readonly now?: () => number;
  }) {
    this.#half = Math.max(1, Math.floor(options.max / 2));
    this.#halfBytes = Math.floor(options.maxBytes / 2);
    const lag = options.now ? 0 : Math.min(100, Math.floor(options.ttlMs / 4));
    this.#ttl = options.ttlMs - lag;
    this.#clock = lag > 0 ? new CoarseClock(lag) : { now: options.now ?? Date.now };
    this.#current = new Generation(this.#clock.now());
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
    if (now - this.#current.born >= this.#ttl / 2) this.#rotate(now);
    const decision = this.#current.topics.get(topic)?.find(key);
    const previous = this.#previous;
    if (decision !== undefined || previous === undefined) return decision;
    if (now - previous.born >= this.#ttl) {
      this.#previous = undefined;
      return undefined;
    }
    return previous.topics.get(topic)?.find(key);
  }

  set(topic: string, key: number, decision: Decision): void {
    let current = this.#current;
    let entry = current.topics.get(topic);
    if (entry !== undefined && (entry.key === key || entry.more?.has(key))) {
      if (entry.key === key) entry.decision = decision;
      else entry.more?.set(key, decision);
      return;
    }
    const topicBytes = TOPIC_BYTES + topic.length * 2;
    // A topic too long for a generation by itself is not cached at all.
    if (topicBytes > this.#halfBytes) return;
    let bytes = entry === undefined ? topicBytes : entry.more === undefined ? MORE_BYTES : DECISION_BYTES;
    if (current.decisions >= this.#half || current.bytes + bytes > this.#halfBytes) {
      this.#rotate(this.#clock.now());
      current = this.#current;
      entry = undefined;
      bytes = topicBytes;
    }
    current.decisions++;
    current.bytes += bytes;
    if (entry === undefined) {
      current.topics.set(topic, new TopicDecisions(key, decision));
      return;
    }
    entry.more ??= new Map();
    entry.more.set(key, decision);
  }

  clear(): void {
    this.#current = new Generation(this.#clock.now());
    this.#previous = undefined;
  }

  #rotate(now: number): void {
    // A generation older than the TTL has nothing left to serve.
    this.#previous = now - this.#current.born < this.#ttl ? this.#current : undefined;
    this.#current = new Generation(now);
  }
}

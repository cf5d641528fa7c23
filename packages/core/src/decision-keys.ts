import { LRUCache } from 'lru-cache';
import { principalKey } from './principal-key.js';
import type { AccessRequest, Principal } from './types.js';

// A key packs a principal number, a topic number and a slot into one exact integer (< 2^53), so that a
// cached decision is found without building a string.
const SLOTS = 128; // action (3) × QoS (0, 1, 2, unspecified) × retain × shared × delivery checked
const TOPICS = 2 ** 26;
const PRINCIPALS = 2 ** 20;
const ACTION_SLOT = { publish: 0, subscribe: 8, receive: 16 } as const;
// What a table entry costs besides its string's characters (map slot, string header), counted with
// two bytes a character, which over-counts one-byte strings: the bound holds whatever the text.
const ENTRY_BYTES = 48;

/** How much the key tables may keep: entries and bytes of each table's strings. */
export interface DecisionKeyLimits {
  /** Topics (and principals) numbered before the table forgets them. */
  readonly entries: number;
  /** Bytes of topic strings, and separately of principal contents, the tables keep. */
  readonly bytes: number;
  /** A topic (share group included) longer than this many characters is never given a number. */
  readonly topicLength: number;
}

/**
 * Numbers the principals and topics the guard sees and turns a request into a numeric cache key.
 * Numbers are never reused: equal principals (HTTP adapters rebuild them per request) share one; when a
 * counter runs out, everything starts afresh and `onReset` lets the decision cache forget its keys.
 * Both tables are bounded by entries and by bytes, and a topic over `topicLength` gets no key at all
 * (`undefined`: decide it without the cache), so that long topics can neither fill the memory nor flush
 * everyone else's numbers.
 */
export class DecisionKeys {
  #principals = new WeakMap<Principal, number>();
  readonly #byContent: LRUCache<string, number>;
  #topics = new Map<string, number>();
  #topicBytes = 0;
  readonly #limits: DecisionKeyLimits;
  readonly #maxTopicLength: number;
  #nextPrincipal = 0;
  #nextTopic = 0;
  readonly #onReset: () => void;
  readonly #packing: { readonly principals: number; readonly topics: number };

  /** `packing` below the packing limits lets tests reach a reset quickly. */
  constructor(
    limits: DecisionKeyLimits,
    onReset: () => void,
    packing = { principals: PRINCIPALS, topics: TOPICS },
  ) {
    this.#limits = limits;
    this.#maxTopicLength = limits.topicLength;
    this.#byContent = new LRUCache({
      max: limits.entries,
      maxSize: limits.bytes,
      sizeCalculation: (_value, content) => content.length * 2 + ENTRY_BYTES,
    });
    this.#onReset = onReset;
    this.#packing = packing;
  }

  /** The topic table's size: entries and counted bytes. */
  get topicUsage(): { readonly entries: number; readonly bytes: number } {
    return { entries: this.#topics.size, bytes: this.#topicBytes };
  }

  key(principal: Principal, request: AccessRequest): number | undefined {
    // The share group is length-prefixed so that it cannot run into the topic.
    const group = request.shareGroup;
    const topic = group === undefined ? request.topic : `${group.length}:${group}/${request.topic}`;
    if (topic.length > this.#maxTopicLength) return undefined;
    let p = this.#principals.get(principal);
    if (p === undefined) {
      const content = principalKey(principal);
      p = this.#byContent.get(content);
      if (p === undefined) {
        if (this.#nextPrincipal >= this.#packing.principals) this.#reset();
        p = this.#nextPrincipal++;
        // A content over the byte bound is not stored; its principal object still keeps its number.
        this.#byContent.set(content, p);
      }
      this.#principals.set(principal, p);
    }
    let t = this.#topics.get(topic);
    if (t === undefined) {
      if (this.#nextTopic >= this.#packing.topics) this.#reset();
      const bytes = topic.length * 2 + ENTRY_BYTES;
      // Forgetting topic numbers is safe: new ones are fresh, old cache entries just age out.
      if (this.#topics.size >= this.#limits.entries || this.#topicBytes + bytes > this.#limits.bytes) {
        this.#topics = new Map();
        this.#topicBytes = 0;
      }
      t = this.#nextTopic++;
      this.#topics.set(topic, t);
      this.#topicBytes += bytes;
    }
    const slot =
      ACTION_SLOT[request.action] +
      (request.qos ?? 3) * 2 +
      (request.retain ? 1 : 0) +
      (group === undefined ? 0 : 32) +
      (request.deliveryChecked ? 64 : 0);
    return (p * TOPICS + t) * SLOTS + slot;
  }

  #reset(): void {
    this.#principals = new WeakMap();
    this.#byContent.clear();
    this.#topics = new Map();
    this.#topicBytes = 0;
    this.#nextPrincipal = 0;
    this.#nextTopic = 0;
    this.#onReset();
  }
}

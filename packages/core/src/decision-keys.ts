import { LRUCache } from 'lru-cache';
import { principalKey } from './principal-key.js';
import type { AccessRequest, Principal } from './types.js';

// A key packs a principal number, a topic number and a slot into one exact integer (< 2^53), so that a
// cached decision is found without building a string.
const SLOTS = 128; // action (3) × QoS (0, 1, 2, unspecified) × retain × shared × delivery checked
const TOPICS = 2 ** 26;
const PRINCIPALS = 2 ** 20;
const ACTION_SLOT = { publish: 0, subscribe: 8, receive: 16 } as const;

/**
 * Numbers the principals and topics the guard sees and turns a request into a numeric cache key.
 * Numbers are never reused: equal principals (HTTP adapters rebuild them per request) share one; when a
 * counter runs out, everything starts afresh and `onReset` lets the decision cache forget its keys.
 */
export class DecisionKeys {
  #principals = new WeakMap<Principal, number>();
  readonly #byContent: LRUCache<string, number>;
  #topics = new Map<string, number>();
  readonly #maxTopics: number;
  #nextPrincipal = 0;
  #nextTopic = 0;
  readonly #onReset: () => void;
  readonly #limits: { readonly principals: number; readonly topics: number };

  /** `limits` below the packing limits let tests reach a reset quickly. */
  constructor(max: number, onReset: () => void, limits = { principals: PRINCIPALS, topics: TOPICS }) {
    this.#byContent = new LRUCache({ max });
    this.#maxTopics = max;
    this.#onReset = onReset;
    this.#limits = limits;
  }

  key(principal: Principal, request: AccessRequest): number {
    let p = this.#principals.get(principal);
    if (p === undefined) {
      const content = principalKey(principal);
      p = this.#byContent.get(content);
      if (p === undefined) {
        if (this.#nextPrincipal >= this.#limits.principals) this.#reset();
        p = this.#nextPrincipal++;
        this.#byContent.set(content, p);
      }
      this.#principals.set(principal, p);
    }
    // The share group is length-prefixed so that it cannot run into the topic.
    const group = request.shareGroup;
    const topic = group === undefined ? request.topic : `${group.length}:${group}/${request.topic}`;
    let t = this.#topics.get(topic);
    if (t === undefined) {
      if (this.#nextTopic >= this.#limits.topics) this.#reset();
      // Forgetting topic numbers is safe: new ones are fresh, old cache entries just age out.
      if (this.#topics.size >= this.#maxTopics) this.#topics = new Map();
      t = this.#nextTopic++;
      this.#topics.set(topic, t);
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
    this.#nextPrincipal = 0;
    this.#nextTopic = 0;
    this.#onReset();
  }
}

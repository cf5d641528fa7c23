import { LRUCache } from 'lru-cache';
import { principalKey } from './principal-key.js';
import type { AccessRequest, Principal } from './types.js';

// A decision is cached under its topic string (see `cacheTopic`) and a key that packs a principal number
// and a slot into one small integer: below 2^30, so that V8 keeps it unboxed and a lookup allocates nothing.
// action (publish 0, subscribe 8, receive 16) + QoS (0, 1, 2, unspecified) × 2 + retain, + 32 shared,
// + 64 delivery checked
const SLOTS = 128;
const PRINCIPALS = 2 ** 23;
// What a principal table entry costs besides its content's characters, counted at two bytes each.
const ENTRY_BYTES = 48;

/** How much the principal table may keep. */
export interface DecisionKeyLimits {
  /** Principal contents numbered before the least recently used is forgotten. */
  readonly entries: number;
  /** Bytes of principal contents the table keeps. */
  readonly bytes: number;
}

/**
 * The string a request's decisions are cached under, or `undefined` for one to decide without the cache
 * (longer than `maxLength` characters, share group included). The share group is length-prefixed so that
 * group and topic cannot run into each other: no plain topic or other group/topic pair gives the same string.
 *
 * @example
 * ```ts
 * cacheTopic({ action: 'subscribe', topic: 'a/b', shareGroup: 'g' }, 1024); // '1:g/a/b'
 * ```
 */
export function cacheTopic(request: AccessRequest, maxLength: number): string | undefined {
  const group = request.shareGroup;
  const topic = group === undefined ? request.topic : `${group.length}:${group}/${request.topic}`;
  return topic.length > maxLength ? undefined : topic;
}

/**
 * Numbers the principals the guard sees and turns a principal and a request into the integer its decision
 * is cached under, next to the request's topic. Numbers are never reused: equal principals (HTTP adapters
 * rebuild them per request) share one; when the counter runs out, everything starts afresh and `onReset`
 * lets the decision cache forget its keys. The table of principal contents is bounded by entries and by
 * bytes.
 */
export class DecisionKeys {
  #principals = new WeakMap<Principal, number>();
  readonly #byContent: LRUCache<string, number>;
  #nextPrincipal = 0;
  // The last principal numbered: a client's requests tend to come in runs.
  #lastPrincipal: Principal | undefined = undefined;
  #lastNumber = 0;
  readonly #onReset: () => void;
  readonly #principalLimit: number;

  /** `principalLimit` below the packing limit lets tests reach a reset quickly. */
  constructor(limits: DecisionKeyLimits, onReset: () => void, principalLimit = PRINCIPALS) {
    this.#byContent = new LRUCache({
      // lru-cache allocates for `max` entries up front; more than the bytes can hold never fit anyway.
      max: Math.max(1, Math.min(limits.entries, Math.floor(limits.bytes / ENTRY_BYTES))),
      maxSize: limits.bytes,
      sizeCalculation: (_value, content) => content.length * 2 + ENTRY_BYTES,
    });
    this.#onReset = onReset;
    this.#principalLimit = principalLimit;
  }

  /**
   * The request's key, or -1 for one the cache must not hold: an action or QoS outside the protocol's
   * (adapters check them, but a stray value must not land in another kind of request's slot).
   */
  key(principal: Principal, request: AccessRequest): number {
    let slot: number;
    switch (request.action) {
      case 'publish':
        slot = 0;
        break;
      case 'subscribe':
        slot = 8;
        break;
      case 'receive':
        slot = 16;
        break;
      default:
        return -1;
    }
    const qos = request.qos;
    if (qos === undefined) slot += 6;
    else if (qos === 0 || qos === 1 || qos === 2) slot += qos * 2;
    else return -1;
    if (request.retain) slot += 1;
    if (request.shareGroup !== undefined) slot += 32;
    if (request.deliveryChecked) slot += 64;
    return this.#number(principal) * SLOTS + slot;
  }

  #number(principal: Principal): number {
    if (principal === this.#lastPrincipal) return this.#lastNumber;
    let p = this.#principals.get(principal);
    if (p === undefined) {
      const content = principalKey(principal);
      p = this.#byContent.get(content);
      if (p === undefined) {
        if (this.#nextPrincipal >= this.#principalLimit) this.#reset();
        p = this.#nextPrincipal++;
        // A content over the byte bound is not stored; its principal object still keeps its number.
        this.#byContent.set(content, p);
      }
      this.#principals.set(principal, p);
    }
    this.#lastPrincipal = principal;
    this.#lastNumber = p;
    return p;
  }

  #reset(): void {
    this.#principals = new WeakMap();
    this.#byContent.clear();
    this.#nextPrincipal = 0;
    this.#lastPrincipal = undefined;
    this.#onReset();
  }
}

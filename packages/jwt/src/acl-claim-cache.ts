import type { PrincipalRule } from '@mqtt-warden/core';
import { type AclClaimOptions, parseAclClaim } from './acl-claim.js';

/** Options of {@link AclClaimCache}. */
export interface AclClaimCacheOptions {
  /** Bound on the cache's estimated memory. Default 1 MiB; 0 disables caching. */
  readonly maxBytes?: number;
}

interface Entry {
  readonly rules: readonly PrincipalRule[];
  /** What `parseAclClaim` reported as left out: replayed on every hit, so no warning is lost. */
  readonly dropped: readonly string[];
  readonly bytes: number;
}

/** Per-entry overhead (Map slot, entry and rule objects, arrays), added to the sizes of the strings. */
const ENTRY_BYTES = 256;
const RULE_BYTES = 160;
const TOPIC_BYTES = 48;

/**
 * The translations of EMQX ACL claims ({@link parseAclClaim}), remembered by the claim's exact JSON
 * text, bounded in bytes (two generations, the older dropped first). A fleet's tokens mostly carry the
 * same ACL claim (placeholders such as `${clientid}` are rendered by the policy, not here), so most
 * logins skip the translation. The key is the whole JSON text, not a digest of it: two claims share an
 * entry only when they are the same JSON value with the same key order (escapes and duplicate keys in
 * the token's text are gone once it is parsed, and the translation is of the parsed value), so one
 * token's claim never answers for another's. Claims that fail to translate are not remembered (they
 * throw every time). Use it for JSON-parsed claims only: `JSON.stringify` is exact for them (a claim
 * with an infinite number, which it is not exact for, skips the cache) but drops `undefined` members of
 * arbitrary objects. Returned rules are frozen (shared).
 *
 * @example
 * ```ts
 * const acl = new AclClaimCache({ maxBytes: 1 << 20 });
 * const rules = acl.parse(payload.acl, { onDropped: (m) => log.warn(m) });
 * ```
 */
export class AclClaimCache {
  // Two generations, each at most half the bound: a hit is one or two Map lookups, nothing relinked
  // (an LRU's bookkeeping cost as much as the lookup). A hit in the older one moves to the newer.
  readonly #half: number;
  readonly #maxEntryBytes: number;
  #current = new Map<string, Entry>();
  #currentBytes = 0;
  #previous = new Map<string, Entry>();
  #previousBytes = 0;

  constructor(options: AclClaimCacheOptions = {}) {
    const maxBytes = options.maxBytes ?? 1 << 20;
    this.#half = Math.floor(maxBytes / 2);
    // One huge claim must not evict the whole fleet's entries.
    this.#maxEntryBytes = Math.floor(maxBytes / 16);
  }

  /** Estimated bytes held (what the bound applies to). */
  get bytes(): number {
    return this.#currentBytes + this.#previousBytes;
  }

  /** Same result and errors as `parseAclClaim(claim, options)`, from the cache when the claim was seen. */
  parse(claim: unknown, options: AclClaimOptions = {}): readonly PrincipalRule[] {
    if (this.#maxEntryBytes <= 0) return parseAclClaim(claim, options);
    const key = JSON.stringify(claim) as string | undefined;
    // JSON.stringify writes an infinite number (JSON's 1e400 parses to one) as null: such a claim would
    // find the entry of the claim with null there, which translates differently ("qos": null allows
    // every QoS, an infinite qos refuses the token). Only -0 is also written as another value (0), and
    // the translation treats the two alike.
    if (key === undefined || (key.includes('null') && hasInfinity(claim))) {
      return parseAclClaim(claim, options);
    }
    const hit = this.#get(key);
    if (hit) {
      for (const message of hit.dropped) options.onDropped?.(message);
      return hit.rules;
    }
    const dropped: string[] = [];
    const rules = parseAclClaim(claim, {
      onDropped: (message) => {
        dropped.push(message);
        options.onDropped?.(message);
      },
    });
    const bytes =
      ENTRY_BYTES + 2 * key.length + sizeOf(rules) + dropped.reduce((n, m) => n + 2 * m.length, 0);
    deepFreeze(rules);
    if (bytes <= this.#maxEntryBytes) this.#set(key, { rules, dropped, bytes });
    return rules;
  }

  #get(key: string): Entry | undefined {
    const entry = this.#current.get(key);
    if (entry !== undefined) return entry;
    const old = this.#previous.get(key);
    if (old !== undefined) {
      this.#previous.delete(key);
      this.#previousBytes -= old.bytes;
      this.#set(key, old);
    }
    return old;
  }

  #set(key: string, entry: Entry): void {
    if (this.#currentBytes + entry.bytes > this.#half) {
      this.#previous = this.#current;
      this.#previousBytes = this.#currentBytes;
      this.#current = new Map();
      this.#currentBytes = 0;
    }
    this.#current.set(key, entry);
    this.#currentBytes += entry.bytes;
  }
}

function sizeOf(rules: readonly PrincipalRule[]): number {
  let bytes = 0;
  for (const rule of rules) {
    bytes += RULE_BYTES;
    for (const topic of rule.topics) {
      bytes += TOPIC_BYTES + 2 * (typeof topic === 'string' ? topic.length : topic.eq.length);
    }
  }
  return bytes;
}

/** Whether a JSON-parsed value holds an infinite number anywhere. */
function hasInfinity(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isFinite(value);
  if (typeof value !== 'object' || value === null) return false;
  for (const member of Object.values(value)) if (hasInfinity(member)) return true;
  return false;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

import type { Action } from '@mqtt-warden/core';
import { isValidTopicName, TopicIndex } from '@mqtt-warden/topic';
import type { CompiledRule } from './compiled-rule.js';

/**
 * Rules indexed so that a check looks up only the filters that can apply, with one lookup where one
 * suffices: a publish or receive looks up allows and denies together (`matching`); a subscription needs
 * the denies that overlap it and the allows that cover it, two different questions (`denies`, `allows`).
 * Exact topics (`{ eq }`) sit in maps by their string: they relate to a request only when equal to it.
 * Lookups fill the caller's `out` array (emptied first), which it reuses for every request.
 */
const NONE: readonly CompiledRule[] = [];

export class RuleTable {
  // One field per index, each created by its first rule: a principal's own table (one per principal)
  // often needs one or two, and a lookup reads its index straight from the table.
  /** Allow and deny rules of publish, then of receive: looked up together. */
  #publish: TopicIndex<CompiledRule> | undefined;
  #receive: TopicIndex<CompiledRule> | undefined;
  /** Deny rules that refuse a subscription they overlap, of subscribe, then of receive. */
  #subscribeDenies: TopicIndex<CompiledRule> | undefined;
  #receiveDenies: TopicIndex<CompiledRule> | undefined;
  #subscribeAllows: TopicIndex<CompiledRule> | undefined;
  /** Exact-topic rules, by topic name (publish, receive) or filter (subscribe); created by the first one. */
  #exact: ExactMaps | undefined;
  #size = 0;

  add(action: Action, filter: string, rule: CompiledRule): void {
    if (action === 'subscribe') {
      if (rule.effect === 'deny') this.#subscribeDenies = added(this.#subscribeDenies, filter, rule);
      else this.#subscribeAllows = added(this.#subscribeAllows, filter, rule);
    } else if (action === 'publish') {
      this.#publish = added(this.#publish, filter, rule);
    } else {
      this.#receive = added(this.#receive, filter, rule);
      if (rule.effect === 'deny') this.#receiveDenies = added(this.#receiveDenies, filter, rule);
    }
    this.#size++;
  }

  /**
   * Adds a rule for the exact string `topic`. For publish and receive a string that is not a topic name
   * (it holds `+` or `#`) equals no request and is not kept.
   */
  addExact(action: Action, topic: string, rule: CompiledRule): void {
    if (action !== 'subscribe' && !isValidTopicName(topic)) return;
    this.#exact ??= {
      publish: new Map(),
      receive: new Map(),
      subscribeDenies: new Map(),
      subscribeAllows: new Map(),
    };
    if (action === 'subscribe') {
      append(rule.effect === 'deny' ? this.#exact.subscribeDenies : this.#exact.subscribeAllows, topic, rule);
    } else {
      append(this.#exact[action], topic, rule);
      // A name is a filter that matches only itself: the subscriptions that can deliver it are those
      // that overlap it. No plain filter matches a `$share/` or `$queue/` name (those prefixes mark
      // shared subscriptions), and the index would read them as one.
      if (
        action === 'receive' &&
        rule.effect === 'deny' &&
        !topic.startsWith('$share/') &&
        !topic.startsWith('$queue/')
      ) {
        this.#receiveDenies = added(this.#receiveDenies, topic, rule);
      }
    }
    this.#size++;
  }

  // Lookups take the levels of an already validated topic or plain filter: the caller splits once.

  /** Allow and deny rules of `action` whose filter matches the topic name, or whose exact topic is it. */
  matching(
    action: 'publish' | 'receive',
    levels: readonly string[],
    topic: string,
    out: CompiledRule[],
  ): readonly CompiledRule[] {
    // The hottest lookup: written out so that a table without exact topics pays one undefined check.
    const index = action === 'publish' ? this.#publish : this.#receive;
    const hits = this.#exact?.[action].get(topic);
    if (index === undefined) return hits ?? NONE;
    return index.matchLevels(levels, fill(out, hits));
  }

  /** Deny rules of `action` whose filter overlaps the subscription filter (or, for subscribe, whose exact topic is it). */
  denies(
    action: 'subscribe' | 'receive',
    levels: readonly string[],
    filter: string,
    out: CompiledRule[],
  ): readonly CompiledRule[] {
    return action === 'subscribe'
      ? lookup(this.#exact?.subscribeDenies, filter, this.#subscribeDenies, levels, 'overlap', out)
      : lookup(undefined, filter, this.#receiveDenies, levels, 'overlap', out);
  }

  /** Subscribe allow rules whose filter covers the subscription filter, or whose exact topic is it. */
  allows(levels: readonly string[], filter: string, out: CompiledRule[]): readonly CompiledRule[] {
    return lookup(this.#exact?.subscribeAllows, filter, this.#subscribeAllows, levels, 'cover', out);
  }

  get size(): number {
    return this.#size;
  }
}

interface ExactMaps {
  readonly publish: Map<string, CompiledRule[]>;
  readonly receive: Map<string, CompiledRule[]>;
  readonly subscribeDenies: Map<string, CompiledRule[]>;
  readonly subscribeAllows: Map<string, CompiledRule[]>;
}

/**
 * `index` (a new one when undefined) with `rule` added under `filter`. A filter the index rejects throws
 * before a new index is kept: a table never holds an empty one.
 */
function added(
  index: TopicIndex<CompiledRule> | undefined,
  filter: string,
  rule: CompiledRule,
): TopicIndex<CompiledRule> {
  const into = index ?? new TopicIndex<CompiledRule>();
  into.add(filter, rule);
  return into;
}

function append(map: Map<string, CompiledRule[]>, key: string, rule: CompiledRule): void {
  const list = map.get(key);
  if (list) list.push(rule);
  else map.set(key, [rule]);
}

/** The exact-topic hits for `key` followed by the index's, in `out`; no copy when the index is empty. */
function lookup(
  exact: Map<string, CompiledRule[]> | undefined,
  key: string,
  index: TopicIndex<CompiledRule> | undefined,
  levels: readonly string[],
  relation: 'overlap' | 'cover',
  out: CompiledRule[],
): readonly CompiledRule[] {
  const hits = exact?.get(key);
  if (index === undefined) return hits ?? NONE;
  fill(out, hits);
  return relation === 'cover' ? index.coveringLevels(levels, out) : index.overlappingLevels(levels, out);
}

/** Empties `out` (the caller's reused array) and copies `hits` into it. */
function fill(out: CompiledRule[], hits: readonly CompiledRule[] | undefined): CompiledRule[] {
  out.length = 0;
  if (hits) for (const rule of hits) out.push(rule);
  return out;
}

import type { Action } from '@mqtt-warden/core';
import { isValidTopicName, TopicIndex } from '@mqtt-warden/topic';
import type { CompiledRule } from './compiled-rule.js';
import { ShapeIndex, type TopicLevels } from './shape-index.js';

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
  // Topic names (publish, receive, and subscriptions without wildcards) are looked up by shape
  // (ShapeIndex); subscriptions with wildcards in tries (TopicIndex), which answer cover and overlap.
  /** Allow and deny rules of publish, then of receive: looked up together. */
  #publish: ShapeIndex<CompiledRule> | undefined;
  #receive: ShapeIndex<CompiledRule> | undefined;
  /** Deny rules that refuse a subscription they overlap, of subscribe, then of receive. */
  #subscribeDenies: TopicIndex<CompiledRule> | undefined;
  #receiveDenies: TopicIndex<CompiledRule> | undefined;
  #subscribeAllows: TopicIndex<CompiledRule> | undefined;
  /** The same three by shape, for subscriptions without wildcards: such a filter's one topic decides. */
  #subscribeDeniesByShape: ShapeIndex<CompiledRule> | undefined;
  #receiveDeniesByShape: ShapeIndex<CompiledRule> | undefined;
  #subscribeAllowsByShape: ShapeIndex<CompiledRule> | undefined;
  /** Exact-topic rules, by topic name (publish, receive) or filter (subscribe); created by the first one. */
  #exact: ExactMaps | undefined;
  #size = 0;

  add(action: Action, filter: string, rule: CompiledRule): void {
    if (action === 'subscribe') {
      if (rule.effect === 'deny') {
        this.#subscribeDenies = added(this.#subscribeDenies, filter, rule);
        this.#subscribeDeniesByShape = shaped(this.#subscribeDeniesByShape, filter, rule);
      } else {
        this.#subscribeAllows = added(this.#subscribeAllows, filter, rule);
        this.#subscribeAllowsByShape = shaped(this.#subscribeAllowsByShape, filter, rule);
      }
    } else if (action === 'publish') {
      this.#publish = shaped(this.#publish, filter, rule);
    } else {
      this.#receive = shaped(this.#receive, filter, rule);
      if (rule.effect === 'deny') {
        this.#receiveDenies = added(this.#receiveDenies, filter, rule);
        this.#receiveDeniesByShape = shaped(this.#receiveDeniesByShape, filter, rule);
      }
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
        this.#receiveDeniesByShape = shaped(this.#receiveDeniesByShape, topic, rule);
      }
    }
    this.#size++;
  }

  // Lookups of a topic name, or of a subscription without wildcards, take its levels read once by the
  // caller (`TopicLevels`); lookups of a subscription with wildcards take its levels split once.

  /** Allow and deny rules of `action` whose filter matches the topic name, or whose exact topic is it. */
  matching(action: 'publish' | 'receive', levels: TopicLevels, out: CompiledRule[]): readonly CompiledRule[] {
    // The hottest lookup: written out so that a table without exact topics pays one undefined check.
    const index = action === 'publish' ? this.#publish : this.#receive;
    const hits = this.#exact?.[action].get(levels.topic);
    if (index === undefined) return hits ?? NONE;
    return index.matchInto(levels, fill(out, hits));
  }

  /**
   * Deny rules of `action` whose filter overlaps the subscription filter (or, for subscribe, whose exact
   * topic is it). `levels` is the filter split, or, for a filter without wildcards, read as a topic.
   */
  denies(
    action: 'subscribe' | 'receive',
    levels: readonly string[] | TopicLevels,
    filter: string,
    out: CompiledRule[],
  ): readonly CompiledRule[] {
    return action === 'subscribe'
      ? lookup(
          this.#exact?.subscribeDenies,
          filter,
          this.#subscribeDenies,
          this.#subscribeDeniesByShape,
          levels,
          'overlap',
          out,
        )
      : lookup(undefined, filter, this.#receiveDenies, this.#receiveDeniesByShape, levels, 'overlap', out);
  }

  /** Subscribe allow rules whose filter covers the subscription filter, or whose exact topic is it. */
  allows(
    levels: readonly string[] | TopicLevels,
    filter: string,
    out: CompiledRule[],
  ): readonly CompiledRule[] {
    return lookup(
      this.#exact?.subscribeAllows,
      filter,
      this.#subscribeAllows,
      this.#subscribeAllowsByShape,
      levels,
      'cover',
      out,
    );
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

function shaped(
  index: ShapeIndex<CompiledRule> | undefined,
  filter: string,
  rule: CompiledRule,
): ShapeIndex<CompiledRule> {
  const into = index ?? new ShapeIndex<CompiledRule>();
  into.add(filter, rule);
  return into;
}

/**
 * The exact-topic hits for `key` followed by the index's, in `out`; no copy when the index is empty. A
 * filter without wildcards (`levels` read as a topic) matches one topic: the filters that cover or
 * overlap it are those that match that topic, which the shape index answers.
 */
function lookup(
  exact: Map<string, CompiledRule[]> | undefined,
  key: string,
  index: TopicIndex<CompiledRule> | undefined,
  byShape: ShapeIndex<CompiledRule> | undefined,
  levels: readonly string[] | TopicLevels,
  relation: 'overlap' | 'cover',
  out: CompiledRule[],
): readonly CompiledRule[] {
  const hits = exact?.get(key);
  if (index === undefined || byShape === undefined) return hits ?? NONE;
  fill(out, hits);
  if (!Array.isArray(levels)) return byShape.matchInto(levels as TopicLevels, out);
  const split = levels as readonly string[];
  return relation === 'cover' ? index.coveringLevels(split, out) : index.overlappingLevels(split, out);
}

/** Empties `out` (the caller's reused array) and copies `hits` into it. */
function fill(out: CompiledRule[], hits: readonly CompiledRule[] | undefined): CompiledRule[] {
  // Most lookups find nothing: setting the length of an empty array would still call into the runtime.
  if (out.length !== 0) out.length = 0;
  if (hits) for (const rule of hits) out.push(rule);
  return out;
}

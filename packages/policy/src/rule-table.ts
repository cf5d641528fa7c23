import type { Action } from '@mqtt-warden/core';
import { TopicIndex } from '@mqtt-warden/topic';
import type { CompiledRule } from './compiled-rule.js';

/**
 * Rules indexed so that a check looks up only the filters that can apply, with one lookup where one
 * suffices: a publish or receive looks up allows and denies together (`matching`); a subscription needs
 * the denies that overlap it and the allows that cover it, two different questions (`denies`, `allows`).
 */
const NONE: readonly CompiledRule[] = [];

export class RuleTable {
  readonly #matching = { publish: new TopicIndex<CompiledRule>(), receive: new TopicIndex<CompiledRule>() };
  readonly #denies = { subscribe: new TopicIndex<CompiledRule>(), receive: new TopicIndex<CompiledRule>() };
  readonly #subscribeAllows = new TopicIndex<CompiledRule>();
  #size = 0;

  add(action: Action, filter: string, rule: CompiledRule): void {
    if (action === 'subscribe') {
      (rule.effect === 'deny' ? this.#denies.subscribe : this.#subscribeAllows).add(filter, rule);
    } else {
      this.#matching[action].add(filter, rule);
      if (action === 'receive' && rule.effect === 'deny') this.#denies.receive.add(filter, rule);
    }
    this.#size++;
  }

  // Lookups take the levels of an already validated topic or plain filter: the caller splits once.

  /** Allow and deny rules of `action` whose filter matches the topic name. */
  matching(action: 'publish' | 'receive', levels: readonly string[]): readonly CompiledRule[] {
    const index = this.#matching[action];
    return index.size === 0 ? NONE : index.matchLevels(levels);
  }

  /** Deny rules of `action` whose filter overlaps the subscription filter. */
  denies(action: 'subscribe' | 'receive', levels: readonly string[]): readonly CompiledRule[] {
    const index = this.#denies[action];
    return index.size === 0 ? NONE : index.overlappingLevels(levels);
  }

  /** Subscribe allow rules whose filter covers the subscription filter. */
  allows(levels: readonly string[]): readonly CompiledRule[] {
    return this.#subscribeAllows.size === 0 ? NONE : this.#subscribeAllows.coveringLevels(levels);
  }

  get size(): number {
    return this.#size;
  }
}

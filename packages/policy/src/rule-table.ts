import type { Action } from '@mqtt-warden/core';
import { TopicIndex } from '@mqtt-warden/topic';
import type { CompiledRule } from './compiled-rule.js';

const SLOT = { publish: 0, subscribe: 2, receive: 4 } as const;

/** Rules indexed by action and effect, so that a check looks up only the filters that can apply. */
export class RuleTable {
  readonly #indexes: (TopicIndex<CompiledRule> | undefined)[] = [];
  #size = 0;

  add(action: Action, filter: string, rule: CompiledRule): void {
    const slot = SLOT[action] + (rule.effect === 'deny' ? 1 : 0);
    let index = this.#indexes[slot];
    if (!index) {
      index = new TopicIndex<CompiledRule>();
      this.#indexes[slot] = index;
    }
    index.add(filter, rule);
    this.#size++;
  }

  /** The index of one action and effect, undefined when it has no rules. */
  get(action: Action, effect: 'allow' | 'deny'): TopicIndex<CompiledRule> | undefined {
    return this.#indexes[SLOT[action] + (effect === 'deny' ? 1 : 0)];
  }

  get size(): number {
    return this.#size;
  }
}

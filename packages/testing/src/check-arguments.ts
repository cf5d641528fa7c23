import { InvalidInputError } from '@mqtt-warden/core';
import { closest, validateDocument } from '@mqtt-warden/policy';
import { type What, WhatSchema } from './what.js';
import { type Who, WhoSchema } from './who.js';

const ACTIONS = ['publish', 'subscribe', 'receive'] as const;
const WHAT_KEYS = [...ACTIONS, 'qos', 'retain'];
const WRITE = 'write "connect" or one of { publish: TOPIC }, { subscribe: FILTER }, { receive: TOPIC }';

/**
 * Checks the arguments of {@link check}, `expectAllowed` and `expectDenied` at run time, for callers the
 * types do not reach (plain JavaScript, YAML-built cases): a typo such as `{ publsh: 't' }` or `'conect'`
 * throws an error naming it, instead of passing silently or failing obscurely.
 *
 * @example
 * ```ts
 * checkArguments({ username: 'dev-1' }, { publsh: 'a' }); // throws: unknown key "publsh" … did you mean "publish"?
 * ```
 */
export function checkArguments(who: unknown, what: unknown): asserts who is Who {
  validateDocument(who, {
    schema: WhoSchema,
    file: 'who',
    what: 'who (the principal)',
    code: 'ERR_INVALID_INPUT',
  });
  checkWhat(what);
}

function checkWhat(what: unknown): asserts what is What {
  if (typeof what === 'string') {
    if (what === 'connect') return;
    const guess = closest(what, ['connect', ...ACTIONS]);
    throw new InvalidInputError(
      `what: unknown action ${JSON.stringify(what)}${guess ? ` (did you mean "${guess}"?)` : ''}; ${WRITE}`,
    );
  }
  if (typeof what !== 'object' || what === null || Array.isArray(what)) {
    throw new InvalidInputError(`what: ${WRITE}, not ${Array.isArray(what) ? 'a list' : String(what)}`);
  }
  const keys = Object.keys(what);
  for (const key of keys) {
    if (WHAT_KEYS.includes(key)) continue;
    const guess = closest(key, WHAT_KEYS);
    throw new InvalidInputError(
      `what: unknown key ${JSON.stringify(key)}${guess ? ` (did you mean "${guess}"?)` : ''}; ${WRITE}, with optional qos and retain`,
    );
  }
  const actions = keys.filter((key) => (ACTIONS as readonly string[]).includes(key));
  if (actions.length !== 1) {
    throw new InvalidInputError(
      `what: write exactly one action key, not ${actions.length === 0 ? 'none' : actions.join(' and ')}; ${WRITE}`,
    );
  }
  validateDocument(what, {
    schema: WhatSchema,
    file: 'what',
    what: 'what (the request)',
    code: 'ERR_INVALID_INPUT',
  });
}

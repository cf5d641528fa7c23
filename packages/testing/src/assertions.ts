import { AssertionError } from 'node:assert';
import { check, type PolicyLike } from './check.js';
import { describeWhat, type What } from './what.js';
import type { Who } from './who.js';

function assertOutcome(
  policy: PolicyLike,
  who: Who,
  what: What,
  expected: boolean,
  stackStart: Function,
): void {
  const result = check(policy, who, what);
  if (result.allowed === expected) return;
  throw new AssertionError({
    message: `expected ${who.username ?? who.clientId ?? who.id ?? 'principal'} to be ${
      expected ? 'allowed' : 'denied'
    } ${describeWhat(what)}, but the policy said:\n${result.text}`,
    actual: result.allowed ? 'allow' : 'deny',
    expected: expected ? 'allow' : 'deny',
    operator: 'strictEqual',
    stackStartFn: stackStart,
  });
}

/**
 * Throws an `AssertionError` (understood by vitest, jest and node:test) with the policy's explanation
 * unless the request is allowed.
 *
 * @example
 * ```ts
 * expectAllowed(policy, { username: 'dev-1' }, { publish: 'devices/dev-1/telemetry', qos: 1 });
 * expectAllowed(policy, { clientId: 'dev-1', method: 'x509' }, 'connect');
 * ```
 */
export function expectAllowed(policy: PolicyLike, who: Who, what: What): void {
  assertOutcome(policy, who, what, true, expectAllowed);
}

/** Throws an `AssertionError` with the explanation unless the request is denied. */
export function expectDenied(policy: PolicyLike, who: Who, what: What): void {
  assertOutcome(policy, who, what, false, expectDenied);
}

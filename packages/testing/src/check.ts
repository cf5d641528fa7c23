import type { Decision } from '@mqtt-warden/core';
import { type Explanation, formatExplanation, type Policy } from '@mqtt-warden/policy';
import { checkArguments } from './check-arguments.js';
import { describeWhat, toRequest, type What } from './what.js';
import { toPrincipal, type Who } from './who.js';

/** The outcome of one check, with a readable explanation. */
export interface CheckResult {
  readonly allowed: boolean;
  readonly decision: Decision;
  /** Present for publish/subscribe/receive; absent for connect. */
  readonly explanation?: Explanation;
  /** Multi-line text: verdict, roles, rules with file:line, decision. */
  readonly text: string;
}

/** Anything with the policy's decision methods: a `Policy` or a `PolicyWatcher`. */
export type PolicyLike = Pick<Policy, 'admit' | 'explain'>;

/**
 * Decides what `who` may do, as the guard would (connect rules for `'connect'`), and explains it.
 *
 * @example
 * ```ts
 * check(policy, { username: 'dev-1' }, { publish: 'devices/dev-1/telemetry' }).allowed; // true
 * ```
 */
export function check(policy: PolicyLike, who: Who, what: What): CheckResult {
  checkArguments(who, what);
  const principal = toPrincipal(who);
  const request = toRequest(what);
  if (!request) {
    const decision = policy.admit(principal);
    const text = `${decision.allowed ? 'ALLOW' : 'DENY'} ${describeWhat(what)}\n  decision: ${decision.message ?? decision.reason}`;
    return { allowed: decision.allowed, decision, text };
  }
  const explanation = policy.explain(principal, request);
  return {
    allowed: explanation.decision.allowed,
    decision: explanation.decision,
    explanation,
    text: formatExplanation(explanation),
  };
}

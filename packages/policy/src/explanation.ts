import type { AccessRequest, Action, Decision, RuleRef } from '@mqtt-warden/core';

/**
 * How a rule's topic related to the request: a rule `matches` a topic name, `covers` or `overlaps` a
 * subscription filter; `unsafe-placeholder` is a deny rule whose placeholder had no safe value and so
 * applies to every topic.
 */
export type RuleRelation = 'matches' | 'covers' | 'overlaps' | 'unsafe-placeholder';

/** One rule that explain found relevant to a request. */
export interface ExplainedRule {
  readonly rule: RuleRef;
  /** Position of the rule in file order (the principal's own rules come last). */
  readonly order: number;
  /** e.g. `rule "telemetry" of role device (fleet.yaml:12:9)`. */
  readonly label: string;
  /** The action the rule was indexed under (a subscription is checked against receive denies too). */
  readonly action: Action;
  readonly relation: RuleRelation;
  /** Whether its conditions held, i.e. whether it took part in the decision. */
  readonly applies: boolean;
  /** Why it did not apply, when it did not. */
  readonly why?: string;
}

/** The full story of one decision; see `Policy.explain`. */
export interface Explanation {
  readonly decision: Decision;
  readonly request: AccessRequest;
  readonly principal: { readonly id: string; readonly roles: readonly string[]; readonly superuser: boolean };
  readonly combining: 'deny-overrides' | 'first-applicable';
  /** Rules whose topic related to the request, in the order they were considered. */
  readonly rules: readonly ExplainedRule[];
}

/**
 * Renders an explanation for people: the verdict, who, the roles, each related rule and which decided.
 *
 * @example
 * ```ts
 * console.log(formatExplanation(policy.explain(principal, { action: 'publish', topic: 'a/b' })));
 * ```
 */
export function formatExplanation(explanation: Explanation): string {
  const { decision, request, principal } = explanation;
  const lines = [
    `${decision.allowed ? 'ALLOW' : 'DENY'} ${request.action} "${request.topic}"${
      request.qos !== undefined ? ` qos ${request.qos}` : ''
    }${request.retain ? ' retained' : ''}`,
    `  principal: ${principal.id}${principal.superuser ? ' (superuser)' : ''}; roles: ${
      principal.roles.join(', ') || '(none)'
    }; combining: ${explanation.combining}`,
  ];
  if (explanation.rules.length === 0) lines.push('  no rule relates to this topic');
  let decider = decision.rule;
  for (const entry of explanation.rules) {
    const decided = decider !== undefined && entry.rule === decider;
    if (decided) decider = undefined;
    const status = decided ? 'DECIDED' : entry.applies ? 'applies' : `skipped: ${entry.why}`;
    lines.push(
      `  ${entry.rule.effect.padEnd(5)} ${entry.action.padEnd(9)} ${entry.label}, ${entry.rule.exact ? 'exact topic' : 'topic'} "${entry.rule.topic}" ${entry.relation.replace('-', ' ')}: ${status}`,
    );
  }
  lines.push(`  decision: ${decision.message ?? decision.reason}`);
  return lines.join('\n');
}

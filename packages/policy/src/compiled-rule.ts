import type { AccessRequest, Decision, RuleRef, RuleSource } from '@mqtt-warden/core';
import type { TopicTemplate } from '@mqtt-warden/topic';
import { compileAddressList } from './address-list.js';

/** The facts about a principal that rule conditions read, computed once per principal. */
export interface ConditionFacts {
  readonly remoteAddress?: string;
  readonly tls?: boolean;
}

/** One (rule, topic) pair of the policy or of a principal's own rules, ready to evaluate. */
export interface CompiledRule {
  readonly ref: RuleRef;
  readonly effect: 'allow' | 'deny';
  /** Position in file order (policy rules first, then the principal's own), for first-applicable. */
  readonly order: number;
  readonly template: TopicTemplate;
  /** e.g. `rule "telemetry" of role device (fleet.yaml:12:9)`. */
  readonly label: string;
  /** Precomputed decision returned when this rule decides (no allocation on the hot path). */
  readonly decision: Decision;
  /** QoS bitmask (bit n = QoS n allowed), undefined for any. */
  readonly qos?: number;
  readonly retain?: boolean;
  readonly tls?: boolean;
  readonly from?: (address: string) => boolean | undefined;
  readonly unconditional: boolean;
  /** Index of the policy role the rule belongs to, -1 for a principal's own rule. */
  readonly roleIndex: number;
}

export interface RuleSpec {
  readonly id: string;
  readonly effect: 'allow' | 'deny';
  readonly order: number;
  readonly template: TopicTemplate;
  /** The topic is an exact string (`{ eq }`): `template` is static and only labels it. */
  readonly exact?: boolean;
  readonly what: string;
  readonly role?: string;
  readonly roleIndex?: number;
  readonly source?: RuleSource;
  readonly qos?: readonly number[];
  readonly retain?: boolean;
  readonly tls?: boolean;
  readonly from?: readonly string[];
}

export function compileRule(spec: RuleSpec): CompiledRule {
  const { source } = spec;
  const where =
    source?.line !== undefined
      ? ` (${[source.file ?? '<policy>', source.line, source.column].join(':')})`
      : '';
  const label = `${spec.what}${where}`;
  const common: RuleRef = {
    id: spec.id,
    effect: spec.effect,
    ...(spec.role !== undefined && { role: spec.role }),
    topic: spec.template.source,
    ...(source && { source }),
  };
  // Only exact rules get the key: an always-present spread makes every ref a little larger.
  const ref: RuleRef = spec.exact ? { ...common, exact: true } : common;
  const allowed = spec.effect === 'allow';
  const qos = spec.qos?.reduce((mask, q) => mask | (1 << q), 0);
  const from = spec.from && compileAddressList(spec.from);
  return {
    ref,
    effect: spec.effect,
    order: spec.order,
    template: spec.template,
    label,
    decision: Object.freeze({
      allowed,
      reason: 'rule',
      rule: ref,
      // One template per case: an extra substitution makes V8 keep one more string piece per rule.
      message: spec.exact
        ? `${allowed ? 'allowed' : 'denied'} by ${label}, exact topic "${spec.template.source}"`
        : `${allowed ? 'allowed' : 'denied'} by ${label}, topic "${spec.template.source}"`,
    }),
    qos,
    retain: spec.retain,
    tls: spec.tls,
    from,
    roleIndex: spec.roleIndex ?? -1,
    unconditional: qos === undefined && spec.retain === undefined && spec.tls === undefined && !from,
  };
}

/**
 * Why a rule's conditions do not hold for a request, or undefined when they hold. A fact the broker did
 * not report (address, TLS) makes an allow rule fail and a deny rule hold: unknowns never widen access.
 * `subscription` is set when a receive rule is checked against a subscription: then any delivery the
 * subscription could bring counts (QoS up to the subscription's, retained or not).
 */
export function conditionFailure(
  rule: CompiledRule,
  facts: ConditionFacts,
  request: AccessRequest,
  subscription = false,
): string | undefined {
  if (rule.unconditional) return undefined;
  const deny = rule.effect === 'deny';
  if (rule.qos !== undefined) {
    const q = request.qos ?? 0;
    const asked = subscription ? (1 << (q + 1)) - 1 : 1 << q;
    if ((rule.qos & asked) === 0) return `QoS ${q} is not one of the rule's QoS levels`;
  }
  if (rule.retain !== undefined && !subscription && (request.retain ?? false) !== rule.retain) {
    return rule.retain
      ? 'the rule is for retained messages only'
      : 'the rule is for non-retained messages only';
  }
  if (rule.tls !== undefined) {
    if (facts.tls === undefined) {
      if (!deny) return 'whether the connection uses TLS is unknown';
    } else if (facts.tls !== rule.tls) {
      return rule.tls ? 'the connection does not use TLS' : 'the rule is for connections without TLS';
    }
  }
  if (rule.from) {
    // An address the broker did not report, or that is not an IP address, is unknown: like any unknown
    // fact it makes an allow rule fail and a deny rule hold.
    const inside = facts.remoteAddress === undefined ? undefined : rule.from(facts.remoteAddress);
    if (inside === undefined) {
      if (!deny) return 'the client address is unknown or not an IP address';
    } else if (!inside) {
      return `the client address ${facts.remoteAddress} is not in the rule's "from" list`;
    }
  }
  return undefined;
}

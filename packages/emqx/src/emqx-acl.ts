import type { Principal, PrincipalRule, RuleTopic } from '@mqtt-warden/core';
import { compileTopicTemplate, type TopicTemplate } from '@mqtt-warden/topic';

/** One rule of EMQX's `acl` list (v2 format, EMQX ≥ 5.5), as returned by HTTP authentication. */
export interface EmqxAclRule {
  readonly permission: 'allow' | 'deny';
  readonly action: 'publish' | 'subscribe' | 'all';
  readonly topics: readonly string[];
  readonly qos?: readonly number[];
  readonly retain?: boolean;
}

/**
 * Which of the principal's own rules (token ACL claims) are handed to EMQX in the authn reply.
 * - `none`: every check goes through the authz endpoint.
 * - `deny` (default): only deny rules; EMQX refuses those itself, everything else still asks the policy.
 * - `all`: deny rules, then publish allows. EMQX then allows those publishes without asking the
 *   policy, so a policy deny that overlaps a principal allow is not consulted. Subscribe allows are
 *   never handed over: EMQX lets rule `a/+` admit `a/#`, which the policy refuses.
 */
export type AclExport = 'none' | 'deny' | 'all';

/**
 * Renders the principal's rules in EMQX's list format. Placeholders are resolved here, because
 * EMQX 5 substitutes values without checking them: a value that is empty, holds `+`, `#`, `/` or NUL,
 * or makes a `$` topic drops an allow rule and turns a deny rule into a deny on `#`.
 *
 * @example
 * ```ts
 * toEmqxAcl({ ...principal, rules: [{ effect: 'deny', actions: ['publish'], topics: ['cmd/${clientid}'] }] }, 'deny');
 * // → [{ permission: 'deny', action: 'publish', topics: ['cmd/dev1'] }]
 * ```
 */
export function toEmqxAcl(principal: Principal, mode: AclExport): EmqxAclRule[] {
  if (mode === 'none' || !principal.rules) return [];
  const denies: EmqxAclRule[] = [];
  const allows: EmqxAclRule[] = [];
  for (const rule of principal.rules) {
    if (rule.effect === 'deny') {
      const action = denyAction(rule);
      if (action === undefined || rule.topics.length === 0) continue;
      const topics = rule.topics.map((topic) => render(topic, principal) ?? '#');
      if (action === 'all' && rule.retain !== undefined) {
        // EMQX reads `retain` on publishes only; on a subscription it would be ignored anyway.
        denies.push(withOptions({ permission: 'deny', action: 'publish', topics }, rule));
        denies.push(withOptions({ permission: 'deny', action: 'subscribe', topics }, rule));
      } else {
        denies.push(withOptions({ permission: 'deny', action, topics }, rule));
      }
    } else if (mode === 'all' && rule.actions.includes('publish')) {
      const topics = rule.topics.map((topic) => render(topic, principal)).filter((t) => t !== undefined);
      if (topics.length > 0)
        allows.push(withOptions({ permission: 'allow', action: 'publish', topics }, rule));
    }
  }
  return [...denies, ...allows];
}

/** A receive deny becomes a subscribe deny: EMQX has no per-delivery check. */
function denyAction(rule: PrincipalRule): EmqxAclRule['action'] | undefined {
  const publish = rule.actions.includes('publish');
  const subscribe = rule.actions.includes('subscribe') || rule.actions.includes('receive');
  if (publish && subscribe) return 'all';
  if (publish) return 'publish';
  return subscribe ? 'subscribe' : undefined;
}

/**
 * Adds qos and retain. Both are match conditions in EMQX as in the policy: `retain: true` matches only
 * retained publishes, `false` only non-retained ones. EMQX ignores `retain` on a subscribe rule, so it
 * is only written on publish rules.
 */
function withOptions(base: EmqxAclRule, rule: PrincipalRule): EmqxAclRule {
  return {
    ...base,
    ...(rule.qos ? { qos: [...rule.qos] } : {}),
    ...(rule.retain !== undefined && base.action === 'publish' ? { retain: rule.retain } : {}),
  };
}

/**
 * The topic as EMQX reads it: an exact topic becomes `eq T`, which EMQX compares as a string exactly as
 * the policy does. Undefined when a placeholder is unknown or its value could widen or change the topic.
 */
function render(topic: RuleTopic, principal: Principal): string | undefined {
  if (typeof topic !== 'string') return `eq ${topic.eq}`;
  let template: TopicTemplate;
  try {
    template = compileTopicTemplate(topic);
  } catch {
    return undefined;
  }
  // The same rendering as the policy's: a value that is empty, holds `+`, `#`, `/` or NUL, or starts
  // the topic with `$`, yields no topic.
  const rendered = template.render((name) =>
    name === 'username' ? principal.username : name === 'clientid' ? principal.clientId : undefined,
  );
  // EMQX substitutes `${…}` in what we hand it (so a value must not carry one) and reads a leading
  // "eq " as a literal-match marker (which a value can produce too: client id "eq ").
  return rendered === undefined || rendered.includes('${') || rendered.startsWith('eq ')
    ? undefined
    : rendered;
}

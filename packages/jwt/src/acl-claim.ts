import type { Action, PrincipalRule, QoS, RuleTopic } from '@mqtt-warden/core';
import { topicFilterProblem } from '@mqtt-warden/topic';
import { ruleTopicProblem } from './rule-topic.js';
import { TokenError } from './token-error.js';

/** Options of {@link parseAclClaim}. */
export interface AclClaimOptions {
  /**
   * Called for each allow topic left out because mqtt-warden cannot express it (e.g. a placeholder
   * other than `${clientid}`/`${username}`): the token then grants less than in EMQX, never more.
   */
  readonly onDropped?: (message: string) => void;
}

type EmqxAction = 'publish' | 'subscribe' | 'all';

/**
 * Translates an EMQX ACL claim into the principal's own rules, with EMQX's meaning. Both formats:
 * - v1 `{"pub": [...], "sub": [...], "all": [...]}`: allow rules;
 * - v2 `[{"permission": "allow"|"deny", "action": "publish"|"subscribe"|"all"|"pub"|"sub",
 *   "topic"|"topics": ..., "qos": ..., "retain": ...}]`.
 *
 * The translation (table in docs/emqx-acl.md):
 * - EMQX `subscribe` becomes `subscribe` + `receive` (a subscription EMQX admits is delivered; the
 *   extra `receive` on deny rules only narrows);
 * - `retain` is a match condition on publishes, as in EMQX: `true` matches only retained publishes,
 *   `false` only non-retained ones, `"all"`/absent both; it is never put on subscribe or receive rules;
 * - `eq T` becomes the exact topic `{ eq: T }`: no placeholder rendering, no wildcard meaning. Its
 *   receive part is the filter T when T is a wildcard filter without placeholders (what the admitted
 *   subscription delivers), else the exact topic;
 * - placeholders `${clientid}` and `${username}` are kept (the policy renders them);
 * - an empty topic list matches nothing: no rule;
 * - a topic mqtt-warden cannot express (another placeholder, an invalid filter) is left out of an allow
 *   (narrower; reported to `onDropped`) and refuses the token in a deny (fail closed).
 * Rules are combined by the policy (deny-overrides by default), which never allows more than EMQX's
 * first-match order; v1's "nothing matched → deny" is the policy's default deny.
 *
 * Throws {@link TokenError} `ERR_TOKEN_ACL` for a malformed claim or a deny it cannot express.
 *
 * @example
 * ```ts
 * parseAclClaim({ pub: ['devices/${clientid}/up'], sub: ['devices/${clientid}/down'] });
 * // [{ effect: 'allow', actions: ['publish'], topics: ['devices/${clientid}/up'] },
 * //  { effect: 'allow', actions: ['subscribe', 'receive'], topics: ['devices/${clientid}/down'] }]
 * parseAclClaim([{ permission: 'allow', action: 'publish', topic: 't', retain: true }]);
 * // [{ effect: 'allow', actions: ['publish'], topics: ['t'], retain: true }]: retained publishes only
 * ```
 */
export function parseAclClaim(claim: unknown, options: AclClaimOptions = {}): PrincipalRule[] {
  if (Array.isArray(claim)) return claim.flatMap((rule, index) => parseV2Rule(rule, index, options));
  if (isRecord(claim)) return parseV1(claim, options);
  throw aclError('the ACL claim must be an object (EMQX v1) or an array of rules (EMQX v2)');
}

const V1_ACTIONS: Readonly<Record<string, EmqxAction>> = { pub: 'publish', sub: 'subscribe', all: 'all' };

function parseV1(claim: Record<string, unknown>, options: AclClaimOptions): PrincipalRule[] {
  const rules: PrincipalRule[] = [];
  for (const [key, topics] of Object.entries(claim)) {
    // Own keys only: a claim key such as "constructor" must not find Object.prototype's members.
    const action = Object.hasOwn(V1_ACTIONS, key) ? V1_ACTIONS[key] : undefined;
    if (!action) throw aclError(`unknown key "${key}" in the ACL claim; expected pub, sub or all`);
    if (!Array.isArray(topics) || topics.some((t) => typeof t !== 'string')) {
      throw aclError(`ACL claim "${key}" must be an array of topic strings`);
    }
    const where = `ACL claim "${key}"`;
    rules.push(...translate({ effect: 'allow', action, topics, where }, options));
  }
  return rules;
}

const V2_ACTIONS: Readonly<Record<string, EmqxAction>> = {
  publish: 'publish',
  pub: 'publish',
  subscribe: 'subscribe',
  sub: 'subscribe',
  all: 'all',
};

function parseV2Rule(rule: unknown, index: number, options: AclClaimOptions): PrincipalRule[] {
  const where = `ACL rule #${index}`;
  if (!isRecord(rule)) throw aclError(`${where} must be an object`);
  const { permission, action } = rule;
  if (permission !== 'allow' && permission !== 'deny') {
    throw aclError(`${where}: "permission" must be "allow" or "deny"`);
  }
  const emqxAction =
    typeof action === 'string' && Object.hasOwn(V2_ACTIONS, action) ? V2_ACTIONS[action] : undefined;
  if (!emqxAction) throw aclError(`${where}: "action" must be publish, subscribe or all`);
  // EMQX: when both are present, `topic` wins.
  const topics = rule.topic !== undefined ? [rule.topic] : rule.topics;
  if (!Array.isArray(topics) || topics.some((t) => typeof t !== 'string')) {
    throw aclError(`${where}: "topic" must be a string or "topics" an array of strings`);
  }
  return translate(
    {
      effect: permission,
      action: emqxAction,
      topics,
      qos: parseQos(rule.qos, where),
      retain: parseRetain(rule.retain, where),
      where,
    },
    options,
  );
}

interface EmqxRule {
  readonly effect: 'allow' | 'deny';
  readonly action: EmqxAction;
  readonly topics: readonly string[];
  readonly qos?: QoS[];
  readonly retain?: boolean;
  readonly where: string;
}

/** One EMQX rule as principal rules: topics that need the same actions (and retain) share a rule. */
function translate(emqx: EmqxRule, options: AclClaimOptions): PrincipalRule[] {
  const { effect, action, qos, retain, where } = emqx;
  const groups = new Map<string, { actions: readonly Action[]; topics: RuleTopic[]; retain: boolean }>();
  const emit = (actions: readonly Action[], topic: RuleTopic, withRetain = false) => {
    const key = `${actions.join()}${withRetain}`;
    const group = groups.get(key);
    if (group) group.topics.push(topic);
    else groups.set(key, { actions, topics: [topic], retain: withRetain });
  };
  const publish = action !== 'subscribe';
  const subscribe = action !== 'publish';
  for (const topic of emqx.topics) {
    if (topic.startsWith('eq ')) {
      const exact = topic.slice(3);
      if (publish) emit(['publish'], { eq: exact }, true);
      if (subscribe) {
        emit(['subscribe'], { eq: exact });
        emit(['receive'], effect === 'allow' && isPlainWildcardFilter(exact) ? exact : { eq: exact });
      }
      continue;
    }
    const problem = ruleTopicProblem(topic);
    if (problem) {
      const message = `${where}: topic "${topic}": ${problem}`;
      if (effect === 'deny') throw aclError(`${message}; a deny that cannot be expressed refuses the token`);
      options.onDropped?.(`${message}; this allow is left out`);
    } else if (publish && subscribe && retain === undefined) {
      emit(['publish', 'subscribe', 'receive'], topic);
    } else {
      // `retain` is a condition on publishes; EMQX ignores it on subscriptions.
      if (publish) emit(['publish'], topic, true);
      if (subscribe) emit(['subscribe', 'receive'], topic);
    }
  }
  return [...groups.values()].map((group) => ({
    effect,
    actions: group.actions,
    topics: group.topics,
    ...(qos ? { qos } : {}),
    ...(group.retain && retain !== undefined ? { retain } : {}),
  }));
}

/** A valid filter with a wildcard and no `${`: the topics a subscription to it can deliver. */
function isPlainWildcardFilter(filter: string): boolean {
  return (
    (filter.includes('+') || filter.includes('#')) &&
    !filter.includes('${') &&
    !filter.startsWith('$share/') &&
    !filter.startsWith('$queue/') &&
    topicFilterProblem(filter) === undefined
  );
}

function parseQos(value: unknown, where: string): QoS[] | undefined {
  if (value === undefined || value === null) return undefined;
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [value];
  const levels = new Set<QoS>();
  for (const item of items) {
    const n = typeof item === 'string' && /^\s*[0-2]\s*$/.test(item) ? Number(item) : item;
    if (n !== 0 && n !== 1 && n !== 2) throw aclError(`${where}: "qos" must be 0, 1, 2 or a list of them`);
    levels.add(n);
  }
  if (levels.size === 0) throw aclError(`${where}: "qos" must not be empty`);
  return levels.size === 3 ? undefined : [...levels].sort();
}

function parseRetain(value: unknown, where: string): boolean | undefined {
  if (value === undefined || value === null || value === 'all') return undefined;
  if (value === true || value === 'true' || value === 1 || value === '1') return true;
  if (value === false || value === 'false' || value === 0 || value === '0') return false;
  throw aclError(`${where}: "retain" must be true, false or "all"`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function aclError(message: string): TokenError {
  return new TokenError('ERR_TOKEN_ACL', message);
}

import type { Action, PrincipalRule, QoS } from '@mqtt-warden/core';
import { ruleTopicProblem } from './rule-topic.js';
import { TokenError } from './token-error.js';

/**
 * Translates an EMQX ACL claim into the principal's own rules. Both formats are accepted:
 * - v1 `{"pub": [...], "sub": [...], "all": [...]}`: allow rules;
 * - v2 `[{"permission": "allow"|"deny", "action": "publish"|"subscribe"|"all"|"pub"|"sub",
 *   "topic"|"topics": ..., "qos": ..., "retain": ...}]`.
 *
 * The translation never widens access:
 * - EMQX `subscribe` becomes `subscribe` + `receive` (a subscription EMQX admits is delivered; the
 *   extra `receive` on deny rules only narrows);
 * - rules are combined by the policy (deny-overrides by default), which never allows more than
 *   EMQX's first-match order; v1's "nothing matched → deny" is mqtt-warden's default deny when the
 *   policy grants this principal nothing else;
 * - placeholders `${clientid}` and `${username}` are kept (the policy renders them); any other
 *   `${…}` is refused;
 * - `eq T` (exact string) becomes `T` when T has no wildcard and no placeholder (equal meaning);
 *   on a deny rule a wildcard T denies subscribing to the filter T (a superset); anything else is refused;
 * - `retain` applies to publishing only (as in EMQX), so an `all` rule with `retain` is split in two.
 *
 * A claim that cannot be translated exactly throws {@link TokenError} `ERR_TOKEN_ACL`: the token is
 * refused, as EMQX refuses a token with an invalid rule.
 *
 * @example
 * ```ts
 * parseAclClaim({ pub: ['devices/${clientid}/up'], sub: ['devices/${clientid}/down'] });
 * // [{ effect: 'allow', actions: ['publish'], topics: ['devices/${clientid}/up'] },
 * //  { effect: 'allow', actions: ['subscribe', 'receive'], topics: ['devices/${clientid}/down'] }]
 * ```
 */
export function parseAclClaim(claim: unknown): PrincipalRule[] {
  if (Array.isArray(claim)) return claim.flatMap((rule, index) => parseV2Rule(rule, index));
  if (isRecord(claim)) return parseV1(claim);
  throw aclError('the ACL claim must be an object (EMQX v1) or an array of rules (EMQX v2)');
}

const V1_ACTIONS: Readonly<Record<string, readonly Action[]>> = {
  pub: ['publish'],
  sub: ['subscribe', 'receive'],
  all: ['publish', 'subscribe', 'receive'],
};

function parseV1(claim: Record<string, unknown>): PrincipalRule[] {
  const rules: PrincipalRule[] = [];
  for (const [key, topics] of Object.entries(claim)) {
    // Own keys only: a claim key such as "constructor" must not find Object.prototype's members.
    const actions = Object.hasOwn(V1_ACTIONS, key) ? V1_ACTIONS[key] : undefined;
    if (!actions) throw aclError(`unknown key "${key}" in the ACL claim; expected pub, sub or all`);
    if (!Array.isArray(topics) || topics.some((t) => typeof t !== 'string')) {
      throw aclError(`ACL claim "${key}" must be an array of topic strings`);
    }
    if (topics.length === 0) continue;
    rules.push({
      effect: 'allow',
      actions,
      topics: topics.map((t) => translateTopic(t, 'allow', key).topic),
    });
  }
  return rules;
}

const V2_ACTIONS: Readonly<Record<string, readonly Action[]>> = {
  publish: ['publish'],
  pub: ['publish'],
  subscribe: ['subscribe', 'receive'],
  sub: ['subscribe', 'receive'],
  all: ['publish', 'subscribe', 'receive'],
};

function parseV2Rule(rule: unknown, index: number): PrincipalRule[] {
  const where = `ACL rule #${index}`;
  if (!isRecord(rule)) throw aclError(`${where} must be an object`);
  const { permission, action } = rule;
  if (permission !== 'allow' && permission !== 'deny') {
    throw aclError(`${where}: "permission" must be "allow" or "deny"`);
  }
  const actions =
    typeof action === 'string' && Object.hasOwn(V2_ACTIONS, action) ? V2_ACTIONS[action] : undefined;
  if (!actions) throw aclError(`${where}: "action" must be publish, subscribe or all`);
  // EMQX: when both are present, `topic` wins.
  const raw = rule.topic !== undefined ? [rule.topic] : rule.topics;
  if (!Array.isArray(raw) || raw.length === 0 || raw.some((t) => typeof t !== 'string')) {
    throw aclError(`${where}: "topic" must be a string or "topics" a non-empty array of strings`);
  }
  const qos = parseQos(rule.qos, where);
  const retain = parseRetain(rule.retain, where);
  const topics: string[] = [];
  const literalFilters: string[] = [];
  for (const topic of raw as string[]) {
    const translated = translateTopic(topic, permission, where);
    (translated.literalFilter ? literalFilters : topics).push(translated.topic);
  }
  const rules: PrincipalRule[] = [];
  const add = (acts: readonly Action[], list: string[], withRetain: boolean) => {
    if (acts.length === 0 || list.length === 0) return;
    rules.push({
      effect: permission,
      actions: acts,
      topics: list,
      ...(qos ? { qos } : {}),
      ...(withRetain && retain !== undefined ? { retain } : {}),
    });
  };
  // EMQX applies `retain` to publishing only, so a subscribe part must not inherit it.
  if (retain !== undefined && actions.length > 1) {
    add(['publish'], topics, true);
    add(['subscribe', 'receive'], topics, false);
  } else {
    add(actions, topics, true);
  }
  // `deny eq a/#` refuses exactly the subscription "a/#" (no topic name equals it, so publish is moot);
  // denying the filter a/# for subscribe refuses a superset, never less.
  add(actions.includes('subscribe') ? ['subscribe'] : [], literalFilters, false);
  return rules;
}

function translateTopic(
  topic: string,
  effect: 'allow' | 'deny',
  where: string,
): { topic: string; literalFilter: boolean } {
  if (topic.startsWith('eq ')) {
    const literal = topic.slice(3);
    const wild = literal.includes('+') || literal.includes('#');
    if (literal.includes('${') || (wild && effect === 'allow')) {
      throw aclError(
        `${where}: "eq ${literal}" matches one literal string, which mqtt-warden rules cannot express exactly`,
      );
    }
    return { topic: checkFilter(literal, where), literalFilter: wild };
  }
  return { topic: checkFilter(topic, where), literalFilter: false };
}

function checkFilter(topic: string, where: string): string {
  const problem = ruleTopicProblem(topic);
  if (problem) throw aclError(`${where}: ${problem}`);
  return topic;
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

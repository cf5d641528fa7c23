import type { Action, PrincipalRule } from '@mqtt-warden/core';
import { ruleTopicProblem, TokenError } from '@mqtt-warden/jwt';

/** How OAuth scopes become roles and topic rules. */
export interface ScopeMapping {
  /** First segment of topic scopes. Default `mqtt`. */
  readonly prefix?: string;
  /** Scope → role name(s), e.g. `{ 'telemetry.write': 'sensor' }`. */
  readonly roles?: Readonly<Record<string, string | readonly string[]>>;
}

/** Roles and allow rules granted by a token's scopes. */
export interface ScopeGrants {
  readonly roles: string[];
  readonly rules: PrincipalRule[];
}

const VERBS: Readonly<Record<string, readonly Action[]>> = {
  publish: ['publish'],
  subscribe: ['subscribe'],
  receive: ['receive'],
  // Shorthands, as in policy files.
  write: ['publish'],
  read: ['subscribe', 'receive'],
};

/**
 * Maps scopes to grants. Topic scopes have the form `PREFIX:VERB:FILTER`:
 *
 * | scope | rule |
 * |---|---|
 * | `mqtt:publish:sensors/+/temp` | allow publish to `sensors/+/temp` |
 * | `mqtt:subscribe:F` | allow subscribing to filters covered by F |
 * | `mqtt:receive:F` | allow deliveries on topics matching F |
 * | `mqtt:read:F` | subscribe + receive |
 * | `mqtt:write:F` | publish |
 *
 * F may use `${clientid}` and `${username}` (rendered by the policy). Every other scope is looked up
 * in `roles`; unknown scopes are ignored. A malformed topic scope throws {@link TokenError}
 * `ERR_TOKEN_ACL` (the token is refused rather than guessed at). Scopes only ever grant (allow).
 *
 * @example
 * ```ts
 * scopeGrants(['mqtt:publish:sensors/${clientid}/temp', 'fleet'], { roles: { fleet: 'fleet-reader' } });
 * // { roles: ['fleet-reader'], rules: [{ effect: 'allow', actions: ['publish'], topics: ['sensors/${clientid}/temp'] }] }
 * ```
 */
export function scopeGrants(scopes: readonly string[], mapping: ScopeMapping = {}): ScopeGrants {
  const prefix = `${mapping.prefix ?? 'mqtt'}:`;
  const roles = new Set<string>();
  const rules: PrincipalRule[] = [];
  for (const scope of scopes) {
    const mapped = mapping.roles && Object.hasOwn(mapping.roles, scope) ? mapping.roles[scope] : undefined;
    if (mapped !== undefined)
      for (const role of typeof mapped === 'string' ? [mapped] : mapped) roles.add(role);
    if (!scope.startsWith(prefix)) continue;
    const rest = scope.slice(prefix.length);
    const colon = rest.indexOf(':');
    const verb = rest.slice(0, colon);
    // Own keys only: a verb such as "constructor" must not find Object.prototype's members.
    const actions = colon !== -1 && Object.hasOwn(VERBS, verb) ? VERBS[verb] : undefined;
    if (!actions) {
      throw new TokenError(
        'ERR_TOKEN_ACL',
        `scope "${scope}" must look like ${prefix}VERB:FILTER with VERB one of ${Object.keys(VERBS).join(', ')}`,
      );
    }
    const topic = rest.slice(colon + 1);
    const problem = ruleTopicProblem(topic);
    if (problem) throw new TokenError('ERR_TOKEN_ACL', `scope "${scope}": ${problem}`);
    rules.push({ effect: 'allow', actions, topics: [topic] });
  }
  return { roles: [...roles], rules };
}

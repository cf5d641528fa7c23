import type { QoS, RuleTopic } from '@mqtt-warden/core';
import { quote } from './import-report.js';

/** Action words of the policy format (`read` = subscribe + receive, `write` = publish, `all`). */
export type ActionWord = 'publish' | 'subscribe' | 'receive' | 'read' | 'write' | 'all';

/** A rule to write, with the comment that names its source line. */
export interface DraftRule {
  readonly effect: 'allow' | 'deny';
  readonly actions: readonly ActionWord[];
  /** Filters, or exact topics `{ eq: T }`. */
  readonly topics: readonly RuleTopic[];
  /** Match conditions, as in the policy format: QoS levels, retained or not, client address blocks. */
  readonly qos?: readonly QoS[];
  readonly retain?: boolean;
  readonly from?: readonly string[];
  /** Written as a YAML comment above the rule, e.g. `acl.conf:12: topic read a/#`. */
  readonly comment?: string;
}

export interface DraftRole {
  readonly name: string;
  readonly description?: string;
  /** Client-id binding of the role (exact client ids); absent: `defaults.clientIds`. */
  clientIds?: readonly string[];
  readonly rules: DraftRule[];
}

/** A `bindings:` entry: principals matching `when` get `roles`. */
export interface DraftBinding {
  readonly when: Readonly<Record<string, boolean | string | readonly string[]>>;
  readonly roles: readonly string[];
  readonly comment?: string;
}

/**
 * A policy document being assembled by an importer, rendered to commented YAML by {@link renderPolicyYaml}.
 * Roles keep their insertion order, which is the evaluation order under `first-applicable`.
 */
export interface PolicyDraft {
  /** Comment lines at the top of the file. */
  readonly header: readonly string[];
  readonly combining: 'deny-overrides' | 'first-applicable';
  /** Username → roles. */
  readonly users: Map<string, string[]>;
  readonly bindings: DraftBinding[];
  readonly roles: DraftRole[];
}

/**
 * What every imported policy says about connecting: client ids are not bound to principals (the policy's
 * default binds them), because Mosquitto, go-auth and EMQX ACL files never bind them, and an import must
 * decide as the old broker did. The generated comment tells the user how to bind them afterwards.
 */
export const IMPORTED_CONNECT_LINES: readonly string[] = [
  '# Client ids are not bound, as in the old broker. Bind them (roles.NAME.clientIds, e.g. "${principal}")',
  "# so that no client can take another's client id: see docs/policy.md.",
  'defaults:',
  '  clientIds: "*"',
];

/**
 * Hands out unique role names: `wanted` when it is a valid role name not yet taken, else `fallback`, then
 * `fallback-2`, `fallback-3`… Source names (usernames, client names) may hold characters roles may not.
 *
 * @example
 * ```ts
 * const roleName = roleNamer(['general']);
 * roleName('user:alice', 'user-1'); // 'user:alice'
 * roleName('user:bad name', 'user-2'); // 'user-2'
 * ```
 */
export function roleNamer(taken: Iterable<string> = []): (wanted: string, fallback: string) => string {
  const names = new Set(taken);
  return (wanted, fallback) => {
    let name = ROLE_NAME.test(wanted) && !names.has(wanted) ? wanted : fallback;
    for (let n = 2; names.has(name); n++) name = `${fallback}-${n}`;
    names.add(name);
    return name;
  };
}

const ROLE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:@-]*$/;

/**
 * Renders a draft as a policy file: YAML whose scalars are all JSON-quoted (JSON is valid YAML, so no
 * username or topic can change the document's structure), with each rule's source line as a comment.
 *
 * @example
 * ```ts
 * const yaml = renderPolicyYaml({ header: ['imported'], combining: 'first-applicable', users: new Map(),
 *   bindings: [], roles: [{ name: 'all', rules: [{ effect: 'allow', actions: ['read'], topics: ['a/#'] }] }] });
 * ```
 */
export function renderPolicyYaml(draft: PolicyDraft): string {
  const out: string[] = [];
  for (const line of draft.header) out.push(`# ${quote(line)}`);
  out.push('version: 1', `combining: ${draft.combining}`, ...IMPORTED_CONNECT_LINES);
  if (draft.users.size > 0) {
    out.push('users:');
    for (const [user, roles] of draft.users) out.push(`  ${q(user)}: ${list(roles)}`);
  }
  if (draft.bindings.length > 0) {
    out.push('bindings:');
    for (const binding of draft.bindings) {
      if (binding.comment) out.push(`  # ${quote(binding.comment)}`);
      const when = Object.entries(binding.when).map(([key, value]) => `${q(key)}: ${scalar(value)}`);
      out.push(
        `  - when: {${when.length > 0 ? ` ${when.join(', ')} ` : ''}}`,
        `    roles: ${list(binding.roles)}`,
      );
    }
  }
  out.push(draft.roles.length > 0 ? 'roles:' : 'roles: {}');
  for (const role of draft.roles) {
    out.push(`  ${q(role.name)}:`);
    if (role.description !== undefined) out.push(`    description: ${q(role.description)}`);
    if (role.clientIds) out.push(`    clientIds: ${list(role.clientIds)}`);
    if (role.rules.length === 0) {
      out.push('    rules: []');
      continue;
    }
    out.push('    rules:');
    for (const rule of role.rules) {
      if (rule.comment) out.push(`      # ${quote(rule.comment)}`);
      const topics = rule.topics.map((t) => (typeof t === 'string' ? q(t) : `{ eq: ${q(t.eq)} }`));
      const conditions = [
        rule.qos && `qos: [${rule.qos.join(', ')}]`,
        rule.retain !== undefined && `retain: ${rule.retain}`,
        rule.from && `from: ${list(rule.from)}`,
      ].filter(Boolean);
      out.push(
        `      - { effect: ${rule.effect}, actions: ${list(rule.actions)}, topics: [${topics.join(', ')}]${conditions.map((c) => `, ${c}`).join('')} }`,
      );
    }
  }
  return `${out.join('\n')}\n`;
}

function q(value: string): string {
  return JSON.stringify(value);
}

function list(values: readonly string[]): string {
  return `[${values.map(q).join(', ')}]`;
}

function scalar(value: boolean | string | readonly string[]): string {
  if (typeof value === 'boolean') return String(value);
  return typeof value === 'string' ? q(value) : list(value);
}

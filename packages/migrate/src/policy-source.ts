import type { Action } from '@mqtt-warden/core';
import {
  type MatcherDocument,
  type PolicyDocument,
  PolicyDocumentSchema,
  type PolicyRuleDocument,
  parseYaml,
} from '@mqtt-warden/policy';
import { type ImportReport, ReportBuilder, type ReportEntry } from './import-report.js';

/** Options of the exporters. */
export interface ExportOptions {
  /** The policy file's name, used in the report. */
  readonly file: string;
}

/** An export's result: the other broker's file, and what could not be expressed (report `refused`). */
export interface ExportResult {
  readonly text: string;
  readonly report: ImportReport;
}

/** One policy rule with what the exporters need: its role, place in file order, and actions spelled out. */
export interface SourceRule {
  readonly role: string;
  /** Position in file order (first-applicable order). */
  readonly order: number;
  readonly rule: PolicyRuleDocument;
  readonly actions: ReadonlySet<Action>;
  /** Report entry fields locating the rule. */
  readonly where: Omit<ReportEntry, 'message'>;
}

/** How principals get a role: a `users:` entry, or a binding's `when`. */
export type RoleGrant =
  | { readonly kind: 'user'; readonly username: string }
  | { readonly kind: 'when'; readonly when: MatcherDocument; readonly where: Omit<ReportEntry, 'message'> };

/** A policy read for export: its rules in file order, the grants of each role, and a report to fill in. */
export interface PolicySource {
  readonly doc: PolicyDocument;
  readonly rules: readonly SourceRule[];
  readonly grants: ReadonlyMap<string, readonly RoleGrant[]>;
  readonly report: ReportBuilder;
}

const WORDS: Readonly<Record<string, readonly Action[]>> = {
  publish: ['publish'],
  subscribe: ['subscribe'],
  receive: ['receive'],
  read: ['subscribe', 'receive'],
  write: ['publish'],
  all: ['publish', 'subscribe', 'receive'],
};

/**
 * Reads and validates a policy for export (a `PolicyError` for an invalid one) and reports, as refused,
 * what neither Mosquitto's acl_file nor EMQX's acl.conf can hold: superusers, groups, `connect:` limits
 * and client-id binding.
 */
export function readPolicySource(text: string, file: string): PolicySource {
  const { value: doc, locate } = parseYaml(text, { schema: PolicyDocumentSchema, file });
  const report = new ReportBuilder();
  const where = (path: (string | number)[], what: string) => ({ file, line: locate(path)?.line, text: what });
  const refuse = (path: (string | number)[], what: string, message: string) => {
    report.refused.push({ ...where(path, what), message });
  };

  doc.superusers?.forEach((s, i) => {
    refuse(
      ['superusers', i],
      `superusers[${i}]: ${JSON.stringify(s)}`,
      'superusers cannot be written in an ACL file',
    );
  });
  if (doc.groups && Object.keys(doc.groups).length > 0) {
    refuse(['groups'], 'groups', 'groups have no equivalent in an ACL file');
  }
  if (doc.connect) refuse(['connect'], 'connect', 'connect: limits (methods, client ids) are not ACL rules');
  const binding = doc.defaults?.clientIds;
  if (binding === undefined || binding.length !== 1 || binding[0] !== '*') {
    refuse(
      ['defaults'],
      `defaults.clientIds: ${JSON.stringify(binding ?? ['${username}', '${principal}'])}`,
      'client-id binding has no equivalent in an ACL file (write defaults.clientIds: "*" to export without it)',
    );
  }

  const rules: SourceRule[] = [];
  const grants = new Map<string, RoleGrant[]>();
  for (const [role, body] of Object.entries(doc.roles)) {
    grants.set(role, []);
    if (body.clientIds) {
      refuse(
        ['roles', role, 'clientIds'],
        `roles.${role}.clientIds`,
        'client-id binding has no equivalent in an ACL file',
      );
    }
    body.rules.forEach((rule, i) => {
      const path = ['roles', role, 'rules', i];
      rules.push({
        role,
        order: rules.length,
        rule,
        actions: new Set(rule.actions.flatMap((w) => WORDS[w]!)),
        where: where(path, `roles.${role}.rules[${i}]: ${describeRule(rule)}`),
      });
    });
  }
  for (const [username, roles] of Object.entries(doc.users ?? {})) {
    for (const role of roles) grants.get(role)!.push({ kind: 'user', username });
  }
  doc.bindings?.forEach((b, i) => {
    for (const role of b.roles) {
      grants.get(role)!.push({
        kind: 'when',
        when: b.when,
        where: where(['bindings', i], `bindings[${i}]: ${JSON.stringify(b.when)}`),
      });
    }
  });
  return { doc, rules, grants, report };
}

function describeRule(rule: PolicyRuleDocument): string {
  const { effect, actions, topics, ...conditions } = rule;
  const more = Object.entries(conditions).map(([k, v]) => `${k} ${JSON.stringify(v)}`);
  return [effect, actions.join('+'), JSON.stringify(topics), ...more].join(' ');
}

/**
 * Whether some topic could match both filters (placeholders count as `+`): the exporters use it to
 * find rule pairs whose order matters. It may say true where the answer is false, never the reverse.
 */
export function filtersMayOverlap(a: string, b: string): boolean {
  const x = a.split('/').map(level);
  const y = b.split('/').map(level);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] === '#' || y[i] === '#') return true;
    if (x[i] === undefined || y[i] === undefined) return false;
    if (x[i] !== '+' && y[i] !== '+' && x[i] !== y[i]) return false;
  }
  return true;
}

function level(value: string): string {
  return value.includes('${') || value.includes('%') ? '+' : value;
}

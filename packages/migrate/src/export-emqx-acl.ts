import type { MatcherDocument } from '@mqtt-warden/policy';
import { quote } from './import-report.js';
import {
  type ExportOptions,
  type ExportResult,
  type RoleGrant,
  readPolicySource,
  type SourceRule,
} from './policy-source.js';

const NOTES = [
  'The file ends with {deny, all}: the policy denies what no rule allows, whatever authorization.no_match says.',
  'EMQX compares a subscription filter word by word with each rule (rule "a/+" admits "a/#"); the policy grants a subscription only when an allow covers it and refuses one that overlaps an earlier deny. Subscriptions to literal topics are decided alike.',
  'EMQX has no per-delivery check: receive rules become subscribe rules (a receive deny refuses the subscription).',
  'EMQX pastes ${username} and ${clientid} in as they are ("undefined" without a username); the policy refuses a missing value or one with "+", "#" or "/".',
  'A username in EMQX is the CONNECT one unless an authenticator checks it; the policy trusts proven usernames only.',
];

/**
 * Exports a policy as an EMQX 5 `acl.conf`: one rule per policy rule, in the order that makes EMQX's
 * first match decide as the policy does (file order for `first-applicable`; every deny before every
 * allow for `deny-overrides`), each for the clients its role is granted to (`users:` → `{user, U}`,
 * bindings → `all`, `{user, ...}`, `{clientid, ...}`, `'and'`/`'or'`), with `from` as `ipaddrs`, `qos`
 * and `retain` as action options, exact topics as `{eq, T}`, and a final `{deny, all}.` Everything the
 * file cannot hold is listed in `report.refused`.
 *
 * @example
 * ```ts
 * const { text, report } = exportEmqxAcl(await readFile('policy.yaml', 'utf8'), { file: 'policy.yaml' });
 * if (report.refused.length === 0) await writeFile('acl.conf', text);
 * ```
 */
export function exportEmqxAcl(policyText: string, options: ExportOptions): ExportResult {
  const { doc, rules, grants, report } = readPolicySource(policyText, options.file);
  const refuse = (source: SourceRule, message: string) => report.refused.push({ ...source.where, message });

  const whoOf = new Map<string, string | undefined>();
  for (const [role, list] of grants) {
    const terms: string[] = [];
    for (const grant of list) {
      const term = grantWho(grant);
      if (typeof term === 'string') terms.push(term);
      else if (grant.kind === 'when') report.refused.push({ ...grant.where, message: term.refused });
    }
    whoOf.set(
      role,
      terms.includes('all') ? 'all' : terms.length <= 1 ? terms[0] : `{'or', [${terms.join(', ')}]}`,
    );
  }

  const ordered =
    doc.combining === 'first-applicable'
      ? rules
      : [...rules.filter((r) => r.rule.effect === 'deny'), ...rules.filter((r) => r.rule.effect === 'allow')];
  const out = [
    `%% Exported from ${quote(options.file)} by "mqtt-warden export emqx-acl".`,
    '%% EMQX checks these rules top to bottom; the first match decides.',
  ];
  for (const source of ordered) {
    let who = whoOf.get(source.role);
    if (who === undefined) continue; // granted to no one the file can name
    const { rule, actions } = source;
    if (rule.tls !== undefined) {
      refuse(source, 'acl.conf has no TLS condition');
      continue;
    }
    const publish = actions.has('publish');
    const subscribe = actions.has('subscribe') || (rule.effect === 'deny' && actions.has('receive'));
    if (!publish && !subscribe) {
      // The policy grants no publish or subscription by a receive allow: EMQX decides the same without it.
      report.changed.push({
        ...source.where,
        message:
          'not exported: EMQX checks no deliveries, and a receive-only allow grants no publish or subscription',
      });
      continue;
    }
    const topics: string[] = [];
    let problem: string | undefined;
    for (const topic of rule.topics) {
      if (typeof topic !== 'string') {
        topics.push(`{eq, ${erlString(topic.eq)}}`);
        continue;
      }
      const other = [...topic.matchAll(/\$\{([^}]*)\}/g)].find(
        (m) => m[1] !== 'username' && m[1] !== 'clientid',
      );
      if (other) problem ??= `${other[0]} has no acl.conf equivalent (only \${username} and \${clientid})`;
      else if (topic.startsWith('eq '))
        problem ??= `the topic "${topic}" would be read as an exact topic by EMQX`;
      topics.push(erlString(topic));
    }
    if (problem) {
      refuse(source, problem);
      continue;
    }
    if (rule.from) {
      const from = `{ipaddrs, [${rule.from.map(erlString).join(', ')}]}`;
      who = who === 'all' ? from : `{'and', [${who}, ${from}]}`;
    }
    // The policy reads a subscription as a non-retained request and checks receive denies against it
    // without retain; EMQX ignores retain on subscribe rules. So with retain, the subscribe part is its
    // own rule, written when it applies to every subscription, left out when it applies to none.
    const subscribeAlways =
      (rule.effect === 'deny' && actions.has('receive')) ||
      (actions.has('subscribe') && rule.retain !== true);
    const qos = rule.qos && `{qos, [${[...new Set(rule.qos)].join(', ')}]}`;
    const parts: [string, (string | undefined)[]][] =
      rule.retain === undefined
        ? [[publish && subscribe ? 'all' : publish ? 'publish' : 'subscribe', [qos]]]
        : [
            ...(publish
              ? [['publish', [qos, `{retain, ${rule.retain}}`]] as [string, (string | undefined)[]]]
              : []),
            ...(subscribeAlways ? [['subscribe', [qos]] as [string, (string | undefined)[]]] : []),
          ];
    out.push(quote(`%% ${source.where.file}:${source.where.line ?? '?'}: ${source.where.text}`));
    for (const [verb, options] of parts) {
      const opts = options.filter(Boolean);
      const action = opts.length > 0 ? `{${verb}, [${opts.join(', ')}]}` : verb;
      out.push(`{${rule.effect}, ${who}, ${action}, [${topics.join(', ')}]}.`);
    }
    report.imported.push({
      ...source.where,
      message: parts.map(([verb]) => `${rule.effect} ${verb}`).join(', ') || 'matches nothing',
    });
  }
  out.push("%% The policy's default: what no rule allows is denied.", '{deny, all}.');
  report.notes.push(...NOTES);
  return { text: `${out.join('\n')}\n`, report: report.build() };
}

/** The Erlang `Who` for one grant, or why there is none. */
function grantWho(grant: RoleGrant): string | { refused: string } {
  if (grant.kind === 'user') return `{user, ${erlString(grant.username)}}`;
  const { anonymous, username, clientid, ...rest } = grant.when as MatcherDocument;
  const others = Object.keys(rest);
  if (others.length > 0) return { refused: `acl.conf cannot match on ${others.join(', ')}` };
  if (anonymous === true) return { refused: 'acl.conf cannot match clients without a username' };
  const parts: string[] = [];
  if (anonymous === false) parts.push('{username, {re, "^"}}');
  for (const [kind, patterns] of [
    ['user', username],
    ['clientid', clientid],
  ] as const) {
    if (!patterns) continue;
    const terms: string[] = [];
    for (const pattern of patterns) {
      const star = pattern.indexOf('*');
      if (star === -1) terms.push(`{${kind}, ${erlString(pattern)}}`);
      else if (star === pattern.length - 1)
        terms.push(`{${kind}, {re, ${erlString(`^${escapeRegex(pattern.slice(0, -1))}`)}}}`);
      else
        return {
          refused: `the pattern "${pattern}" has a "*" before its end; acl.conf takes exact names and prefixes here`,
        };
    }
    parts.push(terms.length === 1 ? terms[0]! : `{'or', [${terms.join(', ')}]}`);
  }
  if (parts.length === 0) return 'all';
  return parts.length === 1 ? parts[0]! : `{'and', [${parts.join(', ')}]}`;
}

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
}

/** An Erlang string literal: `"` and `\` escaped, control and non-ASCII characters as `\x{H}`. */
function erlString(text: string): string {
  let out = '"';
  for (const c of text) {
    const code = c.codePointAt(0)!;
    if (c === '"' || c === '\\') out += `\\${c}`;
    else if (code < 0x20 || code >= 0x7f) out += `\\x{${code.toString(16)}}`;
    else out += c;
  }
  return `${out}"`;
}

import { quote, type ReportEntry } from './import-report.js';
import {
  type ExportOptions,
  type ExportResult,
  filtersMayOverlap,
  readPolicySource,
  type SourceRule,
} from './policy-source.js';

/** Where a line goes: a user's section, the general rules (anonymous clients), or the patterns. */
type Section =
  | { readonly kind: 'user'; readonly username: string }
  | { readonly kind: 'general' }
  | { readonly kind: 'pattern' };

interface Line {
  readonly section: Section;
  readonly access: 'read' | 'write' | 'readwrite' | 'deny';
  readonly topic: string;
  readonly source: SourceRule;
}

const NOTES = [
  'Mosquitto 2.0 accepts every SUBSCRIBE and checks deliveries (read) and publishes (write) only: subscribe rules are not exported; a read line grants deliveries.',
  'Mosquitto 2.0 pastes %u and %c in as raw text, and denies every client whose username or client id contains "+" or "#" once patterns exist; the policy refuses such values in a topic instead.',
  'A Mosquitto username is what the client sends unless a password_file (or plugin) checks it; the policy trusts proven usernames only.',
];

/** The import's own CVE-2017-7650 role: Mosquitto does this itself, so it is not exported. */
const WILDCARD_NAMES = JSON.stringify(['*+*', '*#*']);

/**
 * Exports a policy as a Mosquitto 2.0 `acl_file`: roles granted by `users:` or by a binding on one exact
 * username become `user` sections, roles bound to everyone become `pattern` lines (`${username}` → `%u`,
 * `${clientid}` → `%c`), roles bound to `anonymous: true` become the general rules. Mosquitto evaluates a
 * client's own list (denies first) before the patterns (denies first); where that order would decide a
 * request differently from the policy's combining, the rule is refused. Everything the file cannot hold
 * (conditions, groups, attribute placeholders, subscribe-only rules, client-id binding) is listed in
 * `report.refused`.
 *
 * @example
 * ```ts
 * const { text, report } = exportMosquittoAcl(await readFile('policy.yaml', 'utf8'), { file: 'policy.yaml' });
 * if (report.refused.length === 0) await writeFile('acl_file', text);
 * ```
 */
export function exportMosquittoAcl(policyText: string, options: ExportOptions): ExportResult {
  const { doc, rules, grants, report } = readPolicySource(policyText, options.file);
  const refuse = (source: SourceRule, message: string) => report.refused.push({ ...source.where, message });
  const sectionsOf = new Map<string, Section[]>();
  const anonymousFalse = new Set<string>();

  for (const [role, list] of grants) {
    const sections: Section[] = [];
    for (const grant of list) {
      if (grant.kind === 'user') {
        if (usable(grant.username)) sections.push({ kind: 'user', username: grant.username });
        else
          report.refused.push({
            file: options.file,
            text: `users: ${JSON.stringify(grant.username)}`,
            message:
              'the username holds a line break or starts or ends with white space: no "user" line can name it',
          });
        continue;
      }
      const { when, where } = grant;
      const keys = Object.keys(when);
      const usernames = when.username;
      if (keys.length === 0) sections.push({ kind: 'pattern' });
      else if (keys.length === 1 && when.anonymous === true) sections.push({ kind: 'general' });
      else if (keys.length === 1 && when.anonymous === false) {
        sections.push({ kind: 'pattern' });
        anonymousFalse.add(role);
      } else if (
        keys.length === 1 &&
        JSON.stringify(usernames ?? when.clientid) === WILDCARD_NAMES &&
        rules.every((r) => r.role !== role || r.rule.effect === 'deny')
      ) {
        report.notes.push(
          `${where.text}: Mosquitto itself denies clients with "+" or "#" in their username or client id; not exported`,
        );
      } else if (keys.length === 1 && usernames && usernames.every((u) => !u.includes('*') && usable(u))) {
        for (const username of usernames) sections.push({ kind: 'user', username });
      } else {
        report.refused.push({
          ...where,
          message:
            'an acl_file names clients by exact username only (users:, or when: {}, { anonymous: true } or { username: NAME })',
        });
      }
    }
    sectionsOf.set(role, sections);
  }

  const lines: Line[] = [];
  for (const source of rules) {
    const sections = sectionsOf.get(source.role) ?? [];
    if (sections.length === 0) continue;
    const access = accessOf(source);
    if (typeof access !== 'string') {
      refuse(source, access.refused);
      continue;
    }
    const conditions = ['qos', 'retain', 'from', 'tls'].filter((c) => Object.hasOwn(source.rule, c));
    if (conditions.length > 0) {
      refuse(source, `an acl_file has no ${conditions.join(', ')} conditions`);
      continue;
    }
    for (const topic of source.rule.topics) {
      for (const section of sections) {
        const written = topicFor(topic, section, source, anonymousFalse.has(source.role));
        if (typeof written === 'string') lines.push({ section, access, topic: written, source });
        else refuse(source, written.refused);
      }
    }
  }

  checkOrder(lines, doc.combining, report.refused);
  for (const line of lines)
    report.imported.push({
      ...line.source.where,
      message: `${describe(line.section)}: topic ${line.access} ${line.topic}`,
    });
  report.notes.push(...NOTES);

  const out = [`# Exported from ${quote(options.file)} by "mqtt-warden export mosquitto-acl".`];
  const comment = (line: Line) =>
    quote(`# ${line.source.where.file}:${line.source.where.line ?? '?'}: ${line.source.where.text}`);
  const emit = (subset: Line[], keyword: 'topic' | 'pattern') => {
    for (const line of subset) out.push(comment(line), `${keyword} ${line.access} ${line.topic}`);
  };
  emit(
    lines.filter((l) => l.section.kind === 'general'),
    'topic',
  );
  const users = [...new Set(lines.flatMap((l) => (l.section.kind === 'user' ? [l.section.username] : [])))];
  for (const username of users) {
    out.push('', `user ${username}`);
    emit(
      lines.filter((l) => l.section.kind === 'user' && l.section.username === username),
      'topic',
    );
  }
  const patterns = lines.filter((l) => l.section.kind === 'pattern');
  if (patterns.length > 0) out.push('');
  emit(patterns, 'pattern');
  return { text: `${out.join('\n')}\n`, report: report.build() };
}

/** A `user` line takes the rest of the line, trimmed. */
function usable(username: string): boolean {
  return !/^\s|\s$|[\r\n]/.test(username);
}

function accessOf(source: SourceRule): Line['access'] | { refused: string } {
  const { actions, rule } = source;
  const read = actions.has('receive');
  const write = actions.has('publish');
  if (rule.effect === 'deny') {
    return read && write
      ? 'deny'
      : {
          refused:
            'a Mosquitto deny line refuses both deliveries and publishes; this deny is for one of them only',
        };
  }
  if (read && write) return 'readwrite';
  if (read) return 'read';
  if (write) return 'write';
  return { refused: 'Mosquitto 2.0 does not check SUBSCRIBE: a subscribe-only rule has no acl_file line' };
}

/** A rule topic as written in one section, or why it cannot be. */
function topicFor(
  topic: string | { readonly eq: string },
  section: Section,
  source: SourceRule,
  namedOnly: boolean,
): string | { refused: string } {
  let text: string;
  if (typeof topic !== 'string') {
    if (/[+#]/.test(topic.eq) || topic.eq.includes('${')) {
      return {
        refused: `the exact topic "${topic.eq}" holds a wildcard or "\${": an acl_file line would read it as one`,
      };
    }
    text = topic.eq;
  } else text = topic;
  if (/^[\s]|[\s]$|[\r\n]/.test(text))
    return { refused: `the topic ${JSON.stringify(text)} starts or ends with white space` };
  const placeholders = [...text.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]);
  const deny = source.rule.effect === 'deny';
  if (section.kind === 'pattern') {
    if (text.includes('%')) return { refused: 'a "%" in a pattern line would be read as %u or %c' };
    const other = placeholders.find((p) => p !== 'username' && p !== 'clientid');
    if (other !== undefined) return { refused: `\${${other}} has no acl_file equivalent (only %u and %c)` };
    const withUsername = placeholders.includes('username');
    // Mosquitto skips a %u pattern for a client without username; a policy deny would match everything.
    if (deny && withUsername && !namedOnly) {
      return {
        refused:
          'a deny with ${username} for every client denies everything to clients without username; Mosquitto skips it for them (bind the role to anonymous: false)',
      };
    }
    if (namedOnly && !withUsername) {
      return {
        refused:
          'a role for clients with a username only (anonymous: false) becomes a pattern line, which Mosquitto applies to every client unless it holds %u',
      };
    }
    return text.replaceAll('${username}', '%u').replaceAll('${clientid}', '%c');
  }
  if (placeholders.length === 0) return text;
  if (
    section.kind === 'user' &&
    placeholders.every((p) => p === 'username') &&
    !/[+#/\0]/.test(section.username) &&
    section.username !== ''
  ) {
    return text.replaceAll('${username}', section.username);
  }
  return {
    refused: `placeholders in rules for ${describe(section)} have no acl_file equivalent (only pattern lines substitute)`,
  };
}

/**
 * Mosquitto decides a client's own list before the patterns, each with its denies first. A pair of
 * rules of different effect that may meet on one request must be won by the same rule as under the
 * policy's combining; else the later one is refused.
 */
function checkOrder(lines: Line[], combining: string, refused: ReportEntry[]): void {
  const rank = (l: Line) => (l.section.kind === 'pattern' ? 2 : 0) + (l.access === 'deny' ? 0 : 1);
  const meet = (a: Line, b: Line) => {
    if (a.section.kind !== 'pattern' && b.section.kind !== 'pattern') {
      if (a.section.kind !== b.section.kind) return false;
      if (a.section.kind === 'user' && b.section.kind === 'user' && a.section.username !== b.section.username)
        return false;
    }
    const actions = (l: Line) =>
      l.access === 'deny' || l.access === 'readwrite' ? ['read', 'write'] : [l.access];
    return actions(a).some((x) => actions(b).includes(x)) && filtersMayOverlap(a.topic, b.topic);
  };
  const bad = new Set<Line>();
  for (let i = 0; i < lines.length; i++) {
    for (let j = i + 1; j < lines.length; j++) {
      const a = lines[i]!;
      const b = lines[j]!;
      if ((a.access === 'deny') === (b.access === 'deny') || !meet(a, b)) continue;
      const policyWinner =
        combining === 'first-applicable'
          ? a.source.order <= b.source.order
            ? a
            : b
          : a.access === 'deny'
            ? a
            : b;
      const mosquittoWinner = rank(a) <= rank(b) ? a : b;
      if (policyWinner === mosquittoWinner) continue;
      const loser = policyWinner === a ? b : a;
      if (bad.has(loser)) continue;
      bad.add(loser);
      refused.push({
        ...loser.source.where,
        message: `Mosquitto would decide it before ${policyWinner.source.where.text} (its own list before the patterns, denies first), which the policy decides first`,
      });
    }
  }
  if (bad.size > 0) lines.splice(0, lines.length, ...lines.filter((l) => !bad.has(l)));
}

function describe(section: Section): string {
  return section.kind === 'user'
    ? `user ${section.username}`
    : section.kind === 'general'
      ? 'clients without username'
      : 'every client (pattern)';
}

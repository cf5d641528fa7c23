import { parseMosquittoPasswordFile } from '@mqtt-warden/password';
import { parsePolicy } from '@mqtt-warden/policy';
import { compileTopicTemplate, TopicError } from '@mqtt-warden/topic';
import { type ImportReport, ReportBuilder, type ReportEntry } from './import-report.js';
import { type MosquittoAclRule, parseMosquittoAclFile } from './mosquitto-acl-file.js';
import {
  type ActionWord,
  type DraftRole,
  type DraftRule,
  type PolicyDraft,
  renderPolicyYaml,
  roleNamer,
} from './policy-draft.js';

export interface ImportOptions {
  /** The source file's name, used in the report and in each rule's comment. */
  readonly file: string;
}

export interface MosquittoAclImportOptions extends ImportOptions {
  /** The Mosquitto `password_file` used with the acl_file: reported users are checked against it. */
  readonly passwordFile?: { readonly text: string; readonly file: string };
}

/** An import's result: the policy (as a draft and as YAML that validates) and the report. */
export interface ImportResult {
  readonly draft: PolicyDraft;
  readonly yaml: string;
  readonly report: ImportReport;
}

/** Role names: the policy's name rule; other usernames get a numbered role, the username stays in `users`. */

const ACTIONS: Record<MosquittoAclRule['access'], readonly ActionWord[]> = {
  read: ['read'],
  write: ['write'],
  readwrite: ['all'],
  // A deny refuses READ and WRITE; Mosquitto 2.0 never checks SUBSCRIBE against the acl_file.
  deny: ['publish', 'receive'],
};

const NOTES = [
  'Mosquitto 2.0 accepts every SUBSCRIBE and checks only deliveries (READ) and publishes (WRITE) against the acl_file. ' +
    'The policy grants a subscription only when one read rule covers the whole filter; deliveries and publishes are decided as Mosquitto 2.0 did. ' +
    'Behind go-auth (deliveries checked one by one) a covered subscription that overlaps a deny is granted and the denied messages are not delivered; ' +
    'on brokers without per-delivery checks (EMQX, RabbitMQ) such a subscription is refused.',
  "Evaluation is Mosquitto's: a client's own list first (its denies, then its grants), then the patterns (denies, then grants), " +
    'written as combining: first-applicable with roles in that order. A user grant beats a pattern deny; a deny in the list beats everything.',
  'General rules (before the first user line) apply to clients without a username only (bindings: anonymous: true). ' +
    'A username counts only when an authenticator proved it (e.g. the password file); a client whose username was not proven is anonymous here, ' +
    'whereas Mosquitto with allow_anonymous and no password_file took any username as given.',
  'Mosquitto 2.1 differs: %u and %c match only as a whole topic level there, and a username or client id containing "/" is refused by plugins; ' +
    'acl_file and password_file become the acl-file and password-file plugins with the same rules.',
];

/**
 * Imports a Mosquitto 2.0 `acl_file` into a policy that decides every delivery (READ) and publish
 * (WRITE) as Mosquitto 2.0 did, except the deliberate differences listed in the report: the client's own
 * list (general rules for clients without a username, else its `user` section) is evaluated before the
 * patterns, each with its denies first; `%u`/`%c` become `${username}`/`${clientid}`; a username or
 * client id containing `+` or `#` is denied everything the patterns would decide (CVE-2017-7650).
 * Throws a `MigrationError` when Mosquitto itself would refuse the file.
 *
 * @example
 * ```ts
 * const { yaml, report } = importMosquittoAcl(await readFile('acl.conf', 'utf8'), { file: 'acl.conf' });
 * if (report.refused.length === 0) await writeFile('policy.yaml', yaml);
 * ```
 */
export function importMosquittoAcl(text: string, options: MosquittoAclImportOptions): ImportResult {
  const { file } = options;
  const acl = parseMosquittoAclFile(text, file);
  const report = new ReportBuilder();
  const draft: PolicyDraft = {
    header: [
      `Imported from the Mosquitto acl_file ${file} by "mqtt-warden import mosquitto-acl".`,
      'Roles are evaluated in file order (first-applicable), as Mosquitto evaluates a client: its own list, then the patterns.',
    ],
    combining: 'first-applicable',
    users: new Map(),
    bindings: [],
    roles: [],
  };
  const roleName = roleNamer();

  // 1. Each user's own list, then the general rules (anonymous clients): one role each, denies first.
  acl.users.forEach((user, i) => {
    const role = role_(roleName(`user:${user}`, `user-${i + 1}`), `the acl_file's "user ${user}" section`);
    draft.users.set(user, [role.name]);
    addList(
      role,
      acl.rules.filter((r) => r.kind === 'topic' && r.user === user),
    );
  });
  const general = acl.rules.filter((r) => r.kind === 'topic' && r.user === undefined);
  if (general.length > 0) {
    const role = role_(roleName('anonymous', 'anonymous'), 'general rules: clients without a username only');
    draft.bindings.push({
      when: { anonymous: true },
      roles: [role.name],
      comment: 'Mosquitto: rules before the first user line',
    });
    addList(role, general);
  }

  // 2. The patterns, for every client, after the lists.
  const patterns = acl.rules.filter((r) => r.kind === 'pattern');
  if (patterns.length > 0) {
    const wildcard = role_(
      roleName('wildcard-identity', 'wildcard-identity'),
      'Mosquitto denies a client whose username or client id contains + or # once its own list has not decided',
    );
    const dollarLevels = new Set<string>();
    for (const p of patterns) {
      if (p.topic.includes('${')) continue; // refused below
      const first = placeholders(p.topic).split('/')[0]!;
      if (first.startsWith('$')) dollarLevels.add(`${first}/#`);
    }
    wildcard.rules.push({
      effect: 'deny',
      actions: ['publish', 'receive'],
      topics: ['#', ...dollarLevels],
      comment:
        'Mosquitto 2.0: patterns exist, so "+" or "#" in a username or client id is denied (CVE-2017-7650)',
    });
    draft.bindings.push(
      { when: { username: ['*+*', '*#*'] }, roles: [wildcard.name] },
      { when: { clientid: ['*+*', '*#*'] }, roles: [wildcard.name] },
    );
    const denies = patterns.filter((p) => p.access === 'deny');
    const grants = patterns.filter((p) => p.access !== 'deny');
    const forAll = denies.filter((p) => !p.topic.includes('%u'));
    const forNamed = denies.filter((p) => p.topic.includes('%u'));
    if (forAll.length > 0) {
      const role = role_(roleName('pattern-denies', 'pattern-denies'), 'deny patterns, for every client');
      draft.bindings.push({ when: {}, roles: [role.name] });
      addList(role, forAll);
    }
    if (forNamed.length > 0) {
      // Mosquitto skips a %u pattern for a client without username; a deny with an unset ${username}
      // would instead deny every topic, so these are bound to named clients only.
      const role = role_(
        roleName('pattern-denies-username', 'pattern-denies-username'),
        'deny patterns with %u, for clients with a username (Mosquitto skips them for the others)',
      );
      draft.bindings.push({ when: { anonymous: false }, roles: [role.name] });
      addList(role, forNamed);
    }
    if (grants.length > 0) {
      const role = role_(roleName('patterns', 'patterns'), 'grant patterns, for every client');
      draft.bindings.push({ when: {}, roles: [role.name] });
      addList(role, grants);
    }
  }

  report.notes.push(...NOTES);
  if (options.passwordFile) checkPasswordFile(options.passwordFile, acl.users, patterns.length > 0, report);

  const yaml = renderPolicyYaml(draft);
  // The importer's own check: what it writes must load. A failure here is a bug, never a partial file.
  parsePolicy(yaml, { file: 'imported policy' });
  return { draft, yaml, report: report.build() };

  function role_(name: string, description: string): DraftRole {
    const role: DraftRole = { name, description, rules: [] };
    draft.roles.push(role);
    return role;
  }

  function addList(role: DraftRole, rules: readonly MosquittoAclRule[]): void {
    // Mosquitto puts deny lines at the head of each list when it reads the file.
    const ordered = [
      ...rules.filter((r) => r.access === 'deny'),
      ...rules.filter((r) => r.access !== 'deny'),
    ];
    for (const rule of ordered) {
      const draftRule = translate(rule);
      if (draftRule) {
        role.rules.push(draftRule);
        report.imported.push({ file, line: rule.line, text: rule.text, message: `role ${role.name}` });
      }
    }
  }

  function translate(rule: MosquittoAclRule): DraftRule | undefined {
    const entry = { file, line: rule.line, text: rule.text };
    if (rule.topic.includes('${')) {
      report.refused.push({
        ...entry,
        message:
          'the topic contains "${", which a policy reads as a placeholder; Mosquitto matches it literally',
      });
      return undefined;
    }
    const topic = rule.kind === 'pattern' ? placeholders(rule.topic) : rule.topic;
    try {
      compileTopicTemplate(topic);
    } catch (error) {
      const detail = error instanceof TopicError ? error.message : String(error);
      report.refused.push({ ...entry, message: `not a topic filter the policy accepts: ${detail}` });
      return undefined;
    }
    noteChanges(rule, topic, entry);
    return {
      effect: rule.access === 'deny' ? 'deny' : 'allow',
      actions: ACTIONS[rule.access],
      topics: [topic],
      comment: `${file}:${rule.line}: ${rule.text}`,
    };
  }

  function noteChanges(rule: MosquittoAclRule, topic: string, entry: Omit<ReportEntry, 'message'>): void {
    const deny = rule.access === 'deny';
    if (topic.startsWith('$share')) {
      report.changed.push({
        ...entry,
        message:
          'Mosquitto refuses every publish to and delivery from "$share..." topics before the acl_file, so this rule never applied there; the policy keeps it as written',
      });
    }
    if (!deny && rule.access !== 'read' && topic.startsWith('$SYS')) {
      report.changed.push({
        ...entry,
        message:
          'Mosquitto refuses client publishes to "$SYS..." topics before the acl_file (except bridge state topics); the policy grants what the rule says, so the broker in front must keep refusing them',
      });
    }
    if (rule.kind === 'pattern' && topic !== rule.topic) {
      const names = [rule.topic.includes('%u') && 'username', rule.topic.includes('%c') && 'client id'];
      const cases = ['contains "/"'];
      if (rule.topic.includes('%u')) cases.push('is an empty username');
      if (/^%[uc]/.test(rule.topic)) cases.push('starts with "$"');
      const who = `a ${names.filter(Boolean).join(' or ')} that ${cases.join(', or ')}`;
      report.changed.push({
        ...entry,
        message: deny
          ? `${who} makes this deny apply to every topic (Mosquitto 2.0 pasted the value in as raw text)`
          : `${who} no longer matches (Mosquitto 2.0 pasted the value in as raw text, so "/" added levels)`,
      });
      if (rule.topic.split('/').some((level) => /%[uc]/.test(level) && level !== '%u' && level !== '%c')) {
        report.changed.push({
          ...entry,
          message:
            'Mosquitto 2.1 substitutes %u and %c only where one fills a whole level and matches such a level literally; the policy keeps the 2.0 meaning',
        });
      }
    }
  }
}

/** `%c` → `${clientid}`, `%u` → `${username}`, scanned left to right as Mosquitto 2.0 substitutes them. */
function placeholders(topic: string): string {
  return topic.replace(/%([cu])/g, (_, c: string) => (c === 'c' ? '${clientid}' : '${username}'));
}

function checkPasswordFile(
  passwordFile: { readonly text: string; readonly file: string },
  aclUsers: readonly string[],
  hasPatterns: boolean,
  report: ReportBuilder,
): void {
  const known = new Set(
    parseMosquittoPasswordFile(passwordFile.text, passwordFile.file).map((u) => u.username),
  );
  const missing = aclUsers.filter((u) => !known.has(u));
  if (missing.length > 0) {
    report.notes.push(
      `users with an acl_file section but no entry in ${passwordFile.file} cannot log in; their rules are imported anyway: ${missing.map((u) => JSON.stringify(u)).join(', ')}`,
    );
  }
  const withoutSection = [...known].filter((u) => !aclUsers.includes(u));
  if (withoutSection.length > 0) {
    report.notes.push(
      `users in ${passwordFile.file} without an acl_file section get ${hasPatterns ? 'the patterns only' : 'nothing (no patterns)'}: ${withoutSection.map((u) => JSON.stringify(u)).join(', ')}`,
    );
  }
  report.notes.push(
    `credentials: mqtt-warden reads ${passwordFile.file} as it is (credentials file with format mosquitto, or "mqtt-warden passwd"); nothing to convert`,
  );
}

import { parsePolicy } from '@mqtt-warden/policy';
import { compileTopicTemplate, TopicError } from '@mqtt-warden/topic';
import type { ImportOptions, ImportResult } from './import-mosquitto-acl.js';
import { ReportBuilder } from './import-report.js';
import { MigrationError } from './migration-error.js';
import {
  type ActionWord,
  type DraftRole,
  type PolicyDraft,
  renderPolicyYaml,
  roleNamer,
} from './policy-draft.js';

const ACCESS: Record<string, readonly ActionWord[]> = {
  read: ['read'],
  write: ['write'],
  readwrite: ['all'],
  subscribe: ['subscribe'],
  deny: ['all'],
};

/**
 * Imports a mosquitto-go-auth files-backend ACL file. go-auth checks every deny first (the user's, then
 * the general and pattern lines) and then every grant, so the policy is `deny-overrides` with one role
 * per user and one role for every client holding the general `topic` and `pattern` lines, in which go-auth
 * substitutes `%u` and `%c` alike. Where go-auth's matcher is a hole (`#` reaching `$SYS/...`, `a/+`
 * granting the subscription `a/#`, raw `%u`/`%c` values) the policy keeps its stricter meaning and the
 * report names the rule.
 *
 * @example
 * ```ts
 * const { yaml, report } = importGoAuthAcl(await readFile('acls', 'utf8'), { file: 'acls' });
 * ```
 */
export function importGoAuthAcl(text: string, options: ImportOptions): ImportResult {
  const { file } = options;
  const report = new ReportBuilder();
  const draft: PolicyDraft = {
    header: [`Imported from the go-auth ACL file ${file} by "mqtt-warden import go-auth-acl".`],
    combining: 'deny-overrides',
    users: new Map(),
    bindings: [],
    roles: [],
  };
  const general: DraftRole = {
    name: 'general',
    description: 'general topic and pattern lines: every client',
    rules: [],
  };
  const roleName = roleNamer(['general']);
  const userRoles = new Map<string, DraftRole>();
  let user: DraftRole | undefined;

  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    if (raw.startsWith('#')) return;
    const trimmed = raw.trim();
    if (trimmed === '') return;
    const [keyword = '', ...fields] = trimmed.split(/\s+/);
    const entry = { file, line, text: trimmed };
    if (keyword === 'user') {
      const name = trimmed.slice(4).trim();
      if (name === '')
        throw new MigrationError('missing username: go-auth stops loading the file', { file, line });
      user = userRoles.get(name);
      if (!user) {
        const role = roleName(`user:${name}`, `user-${userRoles.size + 1}`);
        user = { name: role, description: `the "user ${name}" section`, rules: [] };
        userRoles.set(name, user);
        draft.users.set(name, [role, general.name]);
      }
      return;
    }
    if (keyword !== 'topic' && keyword !== 'pattern') {
      throw new MigrationError(
        `a line starts with user, topic or pattern, not "${keyword}" (go-auth stops loading the file)`,
        {
          file,
          line,
        },
      );
    }
    if (fields.length === 0)
      throw new MigrationError('missing topic (go-auth stops loading the file)', { file, line });
    const access = fields.length === 1 ? 'readwrite' : fields[0]!;
    if (!Object.hasOwn(ACCESS, access)) {
      throw new MigrationError(
        `invalid access "${access}": write read, write, readwrite, subscribe or deny (go-auth stops loading the file)`,
        { file, line },
      );
    }
    const source =
      fields.length === 1
        ? fields[0]!
        : trimmed.slice(trimmed.indexOf(access, keyword.length) + access.length).trim();
    // go-auth substitutes in every general line; a user's own topic lines are literal.
    const substitute = keyword === 'pattern' || user === undefined;
    if (source.includes('${')) {
      report.refused.push({
        ...entry,
        message: 'the topic contains "${", which a policy reads as a placeholder',
      });
      return;
    }
    const topic = substitute
      ? source.replace(/%([cu])/g, (_, c: string) => (c === 'c' ? '${clientid}' : '${username}'))
      : source;
    try {
      compileTopicTemplate(topic);
    } catch (error) {
      report.refused.push({
        ...entry,
        message: `not a topic filter: ${error instanceof TopicError ? error.message : String(error)}`,
      });
      return;
    }
    const target = keyword === 'pattern' || user === undefined ? general : user;
    target.rules.push({
      effect: access === 'deny' ? 'deny' : 'allow',
      actions: ACCESS[access]!,
      topics: [topic],
      comment: `${file}:${line}: ${trimmed}`,
    });
    report.imported.push({ ...entry, message: `role ${target.name}` });
    const changed = (message: string) => report.changed.push({ ...entry, message });
    if (/^[+#](\/|$)/.test(topic)) {
      changed(`go-auth's matcher has no "$" rule, so this matched "$SYS/..." there; it no longer does`);
    }
    if (access !== 'write' && access !== 'deny' && topic.includes('+')) {
      changed(
        'go-auth granted subscriptions with "#" where this rule has "+" (a/+ admitted a/#); the policy grants only filters the rule covers',
      );
    }
    if (access === 'read' && topic === '#') {
      changed(
        'go-auth refused the subscription "#" to a read rule; the policy grants it (the rule covers it)',
      );
    }
    if (topic !== source) {
      changed(
        'a username or client id containing "/", "+" or "#" (pasted raw by go-auth) no longer matches an allow and makes a deny apply to every topic',
      );
    }
  });

  draft.roles.push(...userRoles.values(), general);
  draft.bindings.push({ when: {}, roles: [general.name] });
  report.notes.push(
    'go-auth decides denies before grants across the user and general lines: written as combining: deny-overrides',
    "go-auth applies general topic lines to every user (Mosquitto's acl_file: anonymous clients only) and refuses clients without a username; so does the policy, through the go-auth adapter",
    'if go-auth had a password file, topic lines of users absent from it were ignored there; they are imported here',
  );
  const yaml = renderPolicyYaml(draft);
  parsePolicy(yaml, { file: 'imported policy' });
  return { draft, yaml, report: report.build() };
}

import { parsePolicy } from '@mqtt-warden/policy';
import { compileTopicTemplate, TopicError } from '@mqtt-warden/topic';
import type { ImportOptions, ImportResult } from './import-mosquitto-acl.js';
import { ReportBuilder } from './import-report.js';
import { MigrationError } from './migration-error.js';
import {
  type ActionWord,
  type DraftRole,
  type DraftRule,
  type PolicyDraft,
  renderPolicyYaml,
  roleNamer,
} from './policy-draft.js';

/** The result of a dynsec import: the policy, and the credentials as a users file. */
export interface DynsecImportResult extends ImportResult {
  /** A users file (YAML) with each client's `$7$` hash; disabled clients are written `disabled: true`. */
  readonly usersYaml: string;
}

interface Link {
  readonly name: string;
  readonly priority: number;
}
interface Acl {
  readonly acltype: string;
  readonly topic: string;
  readonly priority: number;
  readonly allow: boolean;
  readonly path: string;
}

const ACL_ACTIONS: Record<string, ActionWord | undefined> = {
  publishClientSend: 'publish',
  publishClientReceive: 'receive',
  subscribeLiteral: 'subscribe',
  subscribePattern: 'subscribe',
  unsubscribeLiteral: undefined,
  unsubscribePattern: undefined,
};
const DEFAULTS: [string, ActionWord][] = [
  ['publishClientSend', 'publish'],
  ['publishClientReceive', 'receive'],
  ['subscribe', 'subscribe'],
];

/**
 * Imports a Mosquitto 2.0 dynamic-security JSON file. Each client gets one role holding, in Mosquitto's
 * evaluation order, the ACLs of its roles (priority descending, then name), then of its groups' roles
 * (groups by priority, then name); within a role its `subscribeLiteral` ACLs come before its patterns
 * and the rest go by ACL priority, equal priorities in file order. `combining: first-applicable` then
 * decides as the plugin does; `defaultACLAccess` becomes a last role for dynsec clients and anonymous
 * clients. The anonymous group's roles go to clients without a username. Throws a `MigrationError` for a
 * file the plugin cannot read.
 *
 * @example
 * ```ts
 * const { yaml, usersYaml, report } = importDynsec(await readFile('dynamic-security.json', 'utf8'), { file: 'dynamic-security.json' });
 * ```
 */
export function importDynsec(text: string, options: ImportOptions): DynsecImportResult {
  const { file } = options;
  let tree: unknown;
  try {
    tree = JSON.parse(text);
  } catch (error) {
    throw new MigrationError(`not JSON: ${(error as Error).message}`, { file });
  }
  const root = object(tree, 'the file', file);
  const report = new ReportBuilder();
  const entry = (path: string, text: string) => ({ file, path, text });

  // Roles: name → rules in evaluation order, each ACL translated (and reported) once.
  const roles = new Map<string, DraftRule[]>();
  array(root.roles ?? [], 'roles', file).forEach((r, i) => {
    const role = object(r, `roles[${i}]`, file);
    const name = string(role.rolename, `roles[${i}].rolename`, file);
    const acls: Acl[] = [];
    array(role.acls ?? [], `roles[${i}].acls`, file).forEach((a, j) => {
      const path = `roles[${i}].acls[${j}]`;
      const acl = object(a, path, file);
      acls.push({
        acltype: string(acl.acltype, `${path}.acltype`, file),
        topic: string(acl.topic, `${path}.topic`, file),
        priority: acl.priority === undefined ? 0 : number(acl.priority, `${path}.priority`, file),
        allow: acl.allow === undefined ? false : boolean(acl.allow, `${path}.allow`, file),
        path,
      });
    });
    // Literal subscribe ACLs are looked up before a role's patterns; the rest by priority, stable.
    const rank = (acl: Acl) => (acl.acltype === 'subscribeLiteral' ? 0 : 1);
    acls.sort((x, y) => rank(x) - rank(y) || y.priority - x.priority);
    roles.set(
      name,
      acls.flatMap((acl) => translate(acl, name) ?? []),
    );
  });

  // Groups: name → roles; membership is stored on the group.
  const groups = new Map<string, Link[]>();
  const memberOf = new Map<string, Link[]>();
  array(root.groups ?? [], 'groups', file).forEach((g, i) => {
    const group = object(g, `groups[${i}]`, file);
    const name = string(group.groupname, `groups[${i}].groupname`, file);
    groups.set(name, links(group.roles, 'rolename', `groups[${i}].roles`, file));
    for (const member of links(group.clients, 'username', `groups[${i}].clients`, file)) {
      memberOf.set(member.name, [...(memberOf.get(member.name) ?? []), { name, priority: member.priority }]);
    }
  });

  const draft: PolicyDraft = {
    header: [
      `Imported from the Mosquitto dynamic-security file ${file} by "mqtt-warden import dynsec".`,
      "Each client's role lists its ACLs in the plugin's order; the first applicable rule decides.",
    ],
    combining: 'first-applicable',
    users: new Map(),
    bindings: [],
    roles: [],
  };
  const roleName = roleNamer();
  const flatten = (role: DraftRole, roleLinks: readonly Link[], via: string) => {
    for (const link of sorted(roleLinks)) {
      const rules = roles.get(link.name);
      if (!rules) {
        report.notes.push(
          `${via} names role "${link.name}", which the file does not define; the plugin ignores it`,
        );
        continue;
      }
      role.rules.push(...rules);
    }
  };

  const users: string[] = [];
  /** Roles bound to a client id, which get the defaults' rules themselves. */
  const boundRoles: DraftRole[] = [];
  const defaultsRole: DraftRole = { name: 'default-access', description: 'defaultACLAccess', rules: [] };
  array(root.clients ?? [], 'clients', file).forEach((c, i) => {
    const client = object(c, `clients[${i}]`, file);
    const username = string(client.username, `clients[${i}].username`, file);
    const disabled = client.disabled === true;
    users.push(credentials(client, username, disabled, `clients[${i}]`));
    if (disabled) {
      report.notes.push(
        `client "${username}" is disabled: written disabled to the users file, no rules imported`,
      );
      return;
    }
    const role: DraftRole = {
      name: roleName(`client:${username}`, `client-${i + 1}`),
      description: `dynsec client "${username}"`,
      rules: [],
    };
    draft.roles.push(role);
    flatten(role, links(client.roles, 'rolename', `clients[${i}].roles`, file), `client "${username}"`);
    for (const group of sorted(memberOf.get(username) ?? [])) {
      flatten(role, groups.get(group.name) ?? [], `group "${group.name}"`);
    }
    const clientid = client.clientid;
    if (typeof clientid === 'string' && clientid !== '') {
      const where = entry(`clients[${i}].clientid`, JSON.stringify(clientid));
      if (/[*]|\$\{/.test(clientid)) {
        report.changed.push({
          ...where,
          message:
            'the plugin admits this user only with this client id, which holds "*" or "${" (a pattern or placeholder in clientIds): not bound, bind it by hand',
        });
        draft.users.set(username, [role.name, defaultsRole.name]);
      } else {
        // The client's only role, holding the defaults too: a role without clientIds would admit any client id.
        role.clientIds = [clientid];
        boundRoles.push(role);
        report.imported.push({
          ...where,
          message: `bound: role ${role.name} connects with this client id only`,
        });
        draft.users.set(username, [role.name]);
      }
    } else {
      draft.users.set(username, [role.name, defaultsRole.name]);
    }
  });

  const anonymousGroup = root.anonymousGroup;
  const anonymous: DraftRole = {
    name: roleName('anonymous', 'anonymous'),
    description: 'clients without a username: the anonymous group',
    rules: [],
  };
  if (typeof anonymousGroup === 'string') {
    const groupRoles = groups.get(anonymousGroup);
    if (groupRoles) flatten(anonymous, groupRoles, `the anonymous group "${anonymousGroup}"`);
    else
      report.notes.push(
        `anonymousGroup "${anonymousGroup}" is not defined; anonymous clients get the defaults only`,
      );
  }
  draft.roles.push(anonymous);
  draft.bindings.push({ when: { anonymous: true }, roles: [anonymous.name, defaultsRole.name] });

  // defaultACLAccess: keys missing from the file are false; true grants every topic but $CONTROL.
  const defaults =
    root.defaultACLAccess === undefined ? {} : object(root.defaultACLAccess, 'defaultACLAccess', file);
  for (const [key, action] of DEFAULTS) {
    if (defaults[key] !== true) continue;
    defaultsRole.rules.push({
      effect: 'allow',
      actions: [action],
      topics: ['#', '$SYS/#'],
      comment: `${file}: defaultACLAccess.${key} true`,
    });
    report.changed.push({
      ...entry(`defaultACLAccess.${key}`, 'true'),
      message:
        'the plugin allows every topic but $CONTROL...; the policy allows "#" and "$SYS/#", so other "$" topics are no longer allowed by default',
    });
  }
  draft.roles.push(defaultsRole);
  for (const role of boundRoles) role.rules.push(...defaultsRole.rules);
  report.notes.push(
    'UNSUBSCRIBE is not checked by mqtt-warden: unsubscribeLiteral, unsubscribePattern and defaultACLAccess.unsubscribe are not imported',
    'Clients whose username is not in the file: the plugin defers and, alone, Mosquitto denies; the policy gives them nothing (default deny)',
  );

  const yaml = renderPolicyYaml(draft);
  parsePolicy(yaml, { file: 'imported policy' });
  return { draft, yaml, usersYaml: `users:\n${users.join('')}`, report: report.build() };

  function translate(acl: Acl, role: string): DraftRule | undefined {
    const text = `role "${role}": ${acl.allow ? 'allow' : 'deny'} ${acl.acltype} ${acl.topic} (priority ${acl.priority})`;
    const e = entry(acl.path, text);
    if (!Object.hasOwn(ACL_ACTIONS, acl.acltype)) {
      report.refused.push({ ...e, message: `unknown acltype "${acl.acltype}"` });
      return undefined;
    }
    const action = ACL_ACTIONS[acl.acltype];
    if (action === undefined) return undefined; // unsubscribe: noted once
    if (acl.topic.includes('${')) {
      report.refused.push({
        ...e,
        message: 'the topic contains "${", which a policy reads as a placeholder',
      });
      return undefined;
    }
    try {
      compileTopicTemplate(acl.topic);
    } catch (error) {
      report.refused.push({
        ...e,
        message: `not a topic filter: ${error instanceof TopicError ? error.message : error}`,
      });
      return undefined;
    }
    const wildcard = /(^|\/)[+#](\/|$)/.test(acl.topic);
    if (acl.acltype === 'subscribeLiteral' && wildcard) {
      report.changed.push({
        ...e,
        message:
          'the plugin matches this subscription filter as an exact string; the policy matches it as a filter (an allow covers narrower filters, a deny refuses overlapping ones)',
      });
    } else if (acl.acltype === 'subscribePattern') {
      if (/^[+#]/.test(acl.topic)) {
        report.changed.push({
          ...e,
          message:
            'in Mosquitto 2.0 a leading "+" or "#" of a subscribePattern also matched "$" topics; the policy keeps the MQTT "$" rule',
        });
      }
      if (!acl.allow && wildcard) {
        report.changed.push({
          ...e,
          message:
            'the plugin denies only filters this one covers; the policy denies every filter that overlaps it',
        });
      }
    }
    report.imported.push({ ...e, message: 'imported' });
    return {
      effect: acl.allow ? 'allow' : 'deny',
      actions: [action],
      topics: [acl.topic],
      comment: `${file}: ${acl.path}: ${text}`,
    };
  }

  function credentials(
    client: Record<string, unknown>,
    username: string,
    disabled: boolean,
    path: string,
  ): string {
    const { password, salt, iterations } = client;
    const lines = [`  ${JSON.stringify(username)}:`];
    if (typeof password === 'string' && typeof salt === 'string' && typeof iterations === 'number') {
      lines.push(`    hash: ${JSON.stringify(`$7$${iterations}$${salt}$${password}`)}`);
    } else {
      // No usable password: nobody can log in as this client, so it stays disabled.
      lines.push(
        '    hash: "$7$101$AAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="',
      );
      report.notes.push(`${path}: client "${username}" has no password in the file; written disabled`);
      disabled = true;
    }
    if (disabled) lines.push('    disabled: true');
    return `${lines.join('\n')}\n`;
  }
}

function sorted(list: readonly Link[]): Link[] {
  return [...list].sort(
    (a, b) => b.priority - a.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
}

function links(value: unknown, key: string, path: string, file: string): Link[] {
  if (value === undefined) return [];
  return array(value, path, file).map((item, i) => {
    const link = object(item, `${path}[${i}]`, file);
    return {
      name: string(link[key], `${path}[${i}].${key}`, file),
      priority: link.priority === undefined ? -1 : number(link.priority, `${path}[${i}].priority`, file),
    };
  });
}

function object(value: unknown, path: string, file: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MigrationError(`${path} must be an object`, { file });
  }
  return value as Record<string, unknown>;
}
function array(value: unknown, path: string, file: string): unknown[] {
  if (!Array.isArray(value)) throw new MigrationError(`${path} must be an array`, { file });
  return value;
}
function string(value: unknown, path: string, file: string): string {
  if (typeof value !== 'string' || value === '')
    throw new MigrationError(`${path} must be a non-empty string`, { file });
  return value;
}
function number(value: unknown, path: string, file: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw new MigrationError(`${path} must be an integer`, { file });
  return value;
}
function boolean(value: unknown, path: string, file: string): boolean {
  if (typeof value !== 'boolean') throw new MigrationError(`${path} must be true or false`, { file });
  return value;
}

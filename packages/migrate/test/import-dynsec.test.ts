import { pbkdf2Sync, randomBytes } from 'node:crypto';
import type { Action, Principal } from '@mqtt-warden/core';
import { parseUsersFile, verifyPassword } from '@mqtt-warden/password';
import { parsePolicy } from '@mqtt-warden/policy';
import { describe, expect, it } from 'vitest';
import { importDynsec, MigrationError } from '../src/index.js';

/** A client's password fields as Mosquitto's dynamic-security plugin stores them (PBKDF2-SHA512, 101 rounds). */
function password(secret: string) {
  const salt = randomBytes(12);
  return {
    password: pbkdf2Sync(secret, salt, 101, 64, 'sha512').toString('base64'),
    salt: salt.toString('base64'),
    iterations: 101,
  };
}

const allow = (acltype: string, topic: string, priority?: number) => ({
  acltype,
  topic,
  allow: true,
  priority,
});
const deny = (acltype: string, topic: string, priority?: number) => ({
  acltype,
  topic,
  allow: false,
  priority,
});

const FILE = {
  clients: [
    // Role priority: "high" (5) before "low" (default -1); equal priorities go by name.
    {
      username: 'alice',
      ...password('alice-pw'),
      roles: [{ rolename: 'low' }, { rolename: 'high', priority: 5 }],
    },
    { username: 'bob', ...password('bob-pw'), roles: [{ rolename: 'b-first' }, { rolename: 'a-first' }] },
    { username: 'carol', ...password('carol-pw') },
    { username: 'mallory', ...password('m-pw'), disabled: true, roles: [{ rolename: 'low' }] },
  ],
  groups: [
    { groupname: 'g-late', roles: [{ rolename: 'low' }], clients: [{ username: 'carol', priority: 1 }] },
    { groupname: 'g-early', roles: [{ rolename: 'high' }], clients: [{ username: 'carol', priority: 9 }] },
    { groupname: 'anon', roles: [{ rolename: 'public' }] },
  ],
  roles: [
    { rolename: 'low', acls: [allow('publishClientSend', 'x/#'), allow('publishClientReceive', 'x/#')] },
    {
      rolename: 'high',
      acls: [
        allow('publishClientSend', 'x/open', 1),
        deny('publishClientSend', 'x/#', 0),
        deny('publishClientReceive', 'x/secret', 0),
        allow('subscribePattern', 'x/+', 0),
        deny('subscribeLiteral', 'x/locked', -5),
      ],
    },
    { rolename: 'a-first', acls: [deny('publishClientSend', 'ab/#')] },
    { rolename: 'b-first', acls: [allow('publishClientSend', 'ab/#')] },
    { rolename: 'public', acls: [allow('publishClientReceive', 'public/#')] },
  ],
  anonymousGroup: 'anon',
  defaultACLAccess: {
    publishClientSend: false,
    publishClientReceive: true,
    subscribe: false,
    unsubscribe: true,
  },
};

const imported = importDynsec(JSON.stringify(FILE), { file: 'dynsec.json' });
const policy = parsePolicy(imported.yaml);
const who = (username: string | undefined): Principal => ({
  id: username ?? 'anon-client',
  clientId: username ?? 'anon-client',
  ...(username !== undefined && { username }),
  method: 'password',
  roles: [],
  attributes: {},
});
const may = (username: string | undefined, action: Action, topic: string) =>
  policy.authorize(who(username), { action, topic }).allowed;

describe('importDynsec: the plugin order, first ACL that matches decides', () => {
  it('roles by priority, ACLs by priority within a role', () => {
    expect(may('alice', 'publish', 'x/open')).toBe(true); // high: priority 1 allow
    expect(may('alice', 'publish', 'x/other')).toBe(false); // high: deny x/# before low's allow
    expect(may('alice', 'receive', 'x/secret')).toBe(false);
    expect(may('alice', 'receive', 'x/other')).toBe(true); // low
  });

  it('equal role priorities go by role name; groups by priority, after the client roles', () => {
    expect(may('bob', 'publish', 'ab/1')).toBe(false); // a-first before b-first
    expect(may('carol', 'publish', 'x/other')).toBe(false); // g-early (high) before g-late (low)
    expect(may('carol', 'publish', 'x/open')).toBe(true);
  });

  it("a role's subscribeLiteral comes before its patterns whatever the priority", () => {
    expect(may('alice', 'subscribe', 'x/locked')).toBe(false);
    expect(may('alice', 'subscribe', 'x/free')).toBe(true);
    expect(may('alice', 'subscribe', 'y/free')).toBe(false); // default subscribe false
  });

  it('defaultACLAccess applies after the ACLs; the anonymous group is for clients without a username', () => {
    expect(may('carol', 'receive', 'anything/else')).toBe(true); // publishClientReceive default true
    expect(may('carol', 'publish', 'anything/else')).toBe(false);
    expect(may(undefined, 'receive', 'public/news')).toBe(true);
    expect(may(undefined, 'publish', 'public/news')).toBe(false);
    expect(may('stranger', 'receive', 'anything/else')).toBe(false); // not a dynsec client: deferred, denied
    expect(may('carol', 'receive', '$CONTROL/dynamic-security/v1')).toBe(false);
  });

  it('a disabled client gets no rules and is written disabled', () => {
    expect(may('mallory', 'receive', 'x/1')).toBe(false);
    const users = parseUsersFile(imported.usersYaml, 'yaml', 'users.yaml');
    expect(users.find((u) => u.username === 'mallory')?.disabled).toBe(true);
  });

  it("writes each client's PBKDF2 fields as a $7$ hash that verifies the client's password", async () => {
    const users = parseUsersFile(imported.usersYaml, 'yaml', 'users.yaml');
    const alice = users.find((u) => u.username === 'alice')!;
    expect(alice.hash).toMatch(/^\$7\$101\$/);
    expect(await verifyPassword('alice-pw', alice.hash)).toBe(true);
    expect(await verifyPassword('wrong', alice.hash)).toBe(false);
  });

  it('reports changed meanings and refuses unknown ACL types; a malformed file is a MigrationError', () => {
    const r = importDynsec(
      JSON.stringify({
        roles: [{ rolename: 'r', acls: [allow('publishEverything', 'a'), allow('subscribeLiteral', 'a/+')] }],
      }),
      { file: 'd.json' },
    );
    expect(r.report.refused).toEqual([expect.objectContaining({ path: 'roles[0].acls[0]' })]);
    expect(r.report.changed[0]?.message).toContain('exact string');
    expect(() => importDynsec('{"clients": {}}', { file: 'd.json' })).toThrow(MigrationError);
    expect(() => importDynsec('not json', { file: 'd.json' })).toThrow(/d.json: not JSON/);
  });
});

describe('importDynsec: client id binding', () => {
  const file = JSON.stringify({
    clients: [
      { username: 'dev', clientid: 'dev-1', ...password('pw'), roles: [{ rolename: 'r' }] },
      { username: 'odd', clientid: 'odd-*', ...password('pw') },
      { username: 'free', ...password('pw') },
    ],
    roles: [{ rolename: 'r', acls: [allow('publishClientSend', 'dev/out')] }],
    defaultACLAccess: { publishClientReceive: true },
  });
  const { yaml, report } = importDynsec(file, { file: 'dynsec.json' });
  const policy = parsePolicy(yaml);
  const who = (username: string, clientId: string): Principal => ({
    id: username,
    clientId,
    username,
    method: 'password',
    roles: [],
    attributes: {},
  });

  it('a client with a clientid connects with that client id only, as the plugin admits it', () => {
    expect(yaml).toContain('clientIds: ["dev-1"]');
    expect(policy.admit(who('dev', 'dev-1')).allowed).toBe(true);
    expect(policy.admit(who('dev', 'dev-2')).allowed).toBe(false);
    expect(policy.admit(who('free', 'anything')).allowed).toBe(true);
  });

  it('the bound client keeps its own rules and the defaults', () => {
    expect(policy.authorize(who('dev', 'dev-1'), { action: 'publish', topic: 'dev/out' }).allowed).toBe(true);
    expect(policy.authorize(who('dev', 'dev-1'), { action: 'receive', topic: 'x' }).allowed).toBe(true);
    expect(policy.authorize(who('dev', 'dev-1'), { action: 'publish', topic: 'x' }).allowed).toBe(false);
  });

  it('a clientid that is not a literal client-id rule is reported, not bound', () => {
    expect(report.changed.some((e) => e.path === 'clients[1].clientid')).toBe(true);
    expect(policy.admit(who('odd', 'whatever')).allowed).toBe(true);
  });
});

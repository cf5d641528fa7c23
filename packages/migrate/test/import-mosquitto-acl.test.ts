import type { Action, Principal } from '@mqtt-warden/core';
import { parsePolicy } from '@mqtt-warden/policy';
import { describe, expect, it } from 'vitest';
import { importMosquittoAcl } from '../src/index.js';

const ACL = [
  '# general rules: anonymous clients only',
  'topic read public/#',
  'topic deny public/secret',
  'user alice',
  'topic readwrite alice/#',
  'topic read shared/#',
  'user bob',
  'topic deny shared/bob/private',
  'pattern write devices/%c/#',
  'pattern deny shared/%u/private',
  'pattern read inbox/%u',
  'pattern read $x/%c',
].join('\n');

const imported = importMosquittoAcl(ACL, { file: 'acl.conf' });
const policy = parsePolicy(imported.yaml, { file: 'policy.yaml' });

function who(username: string | undefined, clientId: string): Principal {
  return {
    id: username ?? clientId,
    clientId,
    ...(username !== undefined && { username }),
    method: 'password',
    roles: [],
    attributes: {},
  };
}
const may = (p: Principal, action: Action, topic: string, deliveryChecked?: boolean) =>
  policy.authorize(p, { action, topic, ...(deliveryChecked !== undefined && { deliveryChecked }) }).allowed;

describe('importMosquittoAcl: Mosquitto 2.0 semantics', () => {
  it('general rules apply to anonymous clients only, with their deny first', () => {
    const anon = who(undefined, 'c1');
    expect(may(anon, 'receive', 'public/news')).toBe(true);
    expect(may(anon, 'receive', 'public/secret')).toBe(false);
    expect(may(anon, 'publish', 'public/news')).toBe(false);
    expect(may(who('carol', 'c1'), 'receive', 'public/news')).toBe(false);
  });

  it("a user's own grant beats a deny pattern; a user's own deny beats a pattern grant", () => {
    expect(may(who('alice', 'a1'), 'receive', 'shared/alice/private')).toBe(true);
    expect(may(who('carol', 'c1'), 'receive', 'shared/carol/private')).toBe(false);
    expect(may(who('bob', 'b1'), 'receive', 'shared/bob/private')).toBe(false);
    expect(may(who('bob', 'bob'), 'receive', 'inbox/bob')).toBe(true);
    expect(may(who('bob', 'b1'), 'publish', 'devices/b1/t')).toBe(true);
  });

  it('%u patterns are skipped for anonymous clients: their deny does not deny everything', () => {
    const anon = who(undefined, 'c1');
    expect(may(anon, 'publish', 'devices/c1/t')).toBe(true);
    expect(may(anon, 'receive', '$x/c1')).toBe(true);
    expect(may(anon, 'receive', 'inbox/c1')).toBe(false);
  });

  it('a username or client id with + or # is denied once its own list has not decided', () => {
    expect(may(who(undefined, 'c+1'), 'publish', 'devices/c+1/t')).toBe(false);
    expect(may(who('eve#', 'e1'), 'publish', 'devices/e1/t')).toBe(false);
    expect(may(who('eve#', 'e1'), 'receive', '$x/e1')).toBe(false);
    // Only the patterns are skipped: the general list still decides for the anonymous client.
    expect(may(who(undefined, 'c+1'), 'receive', 'public/news')).toBe(true);
  });

  it('subscriptions need a covering read rule (a deliberate difference, listed in the notes)', () => {
    const alice = who('alice', 'a1');
    expect(may(alice, 'subscribe', 'shared/#', true)).toBe(true);
    expect(may(alice, 'subscribe', '#', true)).toBe(false);
    expect(imported.report.notes.join('\n')).toContain('Mosquitto 2.0 accepts every SUBSCRIBE');
  });
});

describe('importMosquittoAcl: the written policy and the report', () => {
  it('names the source line of each rule in a comment and counts every rule', () => {
    expect(imported.yaml).toContain('# acl.conf:3: topic deny public/secret\n');
    expect(imported.yaml).toContain('# acl.conf:11: pattern read inbox/%u\n');
    expect(imported.yaml).toContain('combining: first-applicable');
    expect(imported.report.imported).toHaveLength(9);
    expect(imported.report.refused).toEqual([]);
  });

  it('lists the patterns whose meaning changed and says why', () => {
    const changed = imported.report.changed.map((e) => `${e.line}: ${e.message}`);
    expect(changed).toContainEqual(
      expect.stringMatching(/^9: a client id that contains "\/" no longer matches/),
    );
    expect(changed).toContainEqual(
      expect.stringMatching(
        /^10: a username that contains "\/", or is an empty username makes this deny apply/,
      ),
    );
  });

  it('refuses a topic the policy would read as a placeholder, and names the line', () => {
    const r = importMosquittoAcl('topic read a\ntopic read a/${username}', { file: 'acl' });
    expect(r.report.refused).toEqual([
      expect.objectContaining({ line: 2, message: expect.stringContaining('placeholder') }),
    ]);
    expect(r.report.imported).toHaveLength(1);
  });

  it('keeps usernames out of the YAML structure (quoted), whatever they contain', () => {
    const r = importMosquittoAcl('user a": [x]\ntopic read t\nuser b\\n#\ntopic read u', { file: 'acl' });
    const p = parsePolicy(r.yaml);
    expect(p.authorize(who('a": [x]', 'c'), { action: 'receive', topic: 't' }).allowed).toBe(true);
    expect(p.authorize(who('b\\n#', 'c'), { action: 'receive', topic: 'u' }).allowed).toBe(true);
    expect(p.authorize(who('x', 'c'), { action: 'receive', topic: 't' }).allowed).toBe(false);
  });

  it('reports acl users missing from the password file and password users without a section', () => {
    const r = importMosquittoAcl('user alice\ntopic a\npattern read %u', {
      file: 'acl',
      passwordFile: { file: 'passwd', text: `dave:$7$101$${'A'.repeat(16)}$${'A'.repeat(86)}==\n` },
    });
    const notes = r.report.notes.join('\n');
    expect(notes).toContain('no entry in passwd cannot log in; their rules are imported anyway: "alice"');
    expect(notes).toContain('without an acl_file section get the patterns only: "dave"');
  });
});

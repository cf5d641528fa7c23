import type { Action, Principal } from '@mqtt-warden/core';
import { parsePolicy } from '@mqtt-warden/policy';
import { describe, expect, it } from 'vitest';
import { importGoAuthAcl, MigrationError } from '../src/index.js';

const ACL = [
  '# go-auth files backend',
  'topic read public/#',
  'topic deny public/%u/hidden',
  'user alice',
  'topic readwrite alice/#',
  'topic subscribe feeds/+',
  'user bob',
  'topic deny alice/#',
  'pattern write devices/%c/#',
  'pattern read #',
].join('\n');

const imported = importGoAuthAcl(ACL, { file: 'acls' });
const policy = parsePolicy(imported.yaml);
const who = (username: string, clientId = username): Principal => ({
  id: username,
  clientId,
  username,
  method: 'password',
  roles: [],
  attributes: {},
});
const may = (p: Principal, action: Action, topic: string) => policy.authorize(p, { action, topic }).allowed;

describe('importGoAuthAcl: go-auth files-backend semantics', () => {
  it('general topic lines apply to every user, with %u substituted', () => {
    expect(may(who('alice'), 'receive', 'public/x')).toBe(true);
    expect(may(who('carol'), 'receive', 'public/x')).toBe(true);
    expect(may(who('carol'), 'receive', 'public/carol/hidden')).toBe(false);
    expect(may(who('alice'), 'receive', 'public/carol/hidden')).toBe(true);
  });

  it('denies first, across user and general lines: a general deny beats a user grant', () => {
    expect(may(who('alice'), 'publish', 'alice/x')).toBe(true);
    const r = importGoAuthAcl('topic deny alice/secret\nuser alice\ntopic readwrite alice/#', { file: 'a' });
    const p = parsePolicy(r.yaml);
    expect(p.authorize(who('alice'), { action: 'publish', topic: 'alice/secret' }).allowed).toBe(false);
    expect(r.yaml).toContain('combining: deny-overrides');
  });

  it('a user deny beats a pattern grant; subscribe rules grant subscriptions only', () => {
    expect(may(who('bob'), 'receive', 'alice/x')).toBe(false);
    expect(may(who('carol'), 'receive', 'alice/x')).toBe(true);
    expect(may(who('alice'), 'subscribe', 'feeds/news')).toBe(true);
    expect(may(who('bob', 'c9'), 'publish', 'devices/c9/t')).toBe(true);
  });

  it('keeps the stricter meaning where go-auth has holes, and says so', () => {
    expect(may(who('carol'), 'receive', '$SYS/broker/uptime')).toBe(false);
    const narrow = parsePolicy(importGoAuthAcl('user alice\ntopic subscribe feeds/+', { file: 'a' }).yaml);
    expect(narrow.authorize(who('alice'), { action: 'subscribe', topic: 'feeds/x' }).allowed).toBe(true);
    expect(narrow.authorize(who('alice'), { action: 'subscribe', topic: 'feeds/#' }).allowed).toBe(false);
    const changed = imported.report.changed.map((e) => `${e.line}: ${e.message}`).join('\n');
    expect(changed).toContain('10: go-auth\'s matcher has no "$" rule');
    expect(changed).toContain('6: go-auth granted subscriptions with "#" where this rule has "+"');
    expect(changed).toContain('10: go-auth refused the subscription "#" to a read rule');
  });

  it('refuses what go-auth refuses to load, with the line', () => {
    expect(() => importGoAuthAcl('topic read a\nacl read b', { file: 'acls' })).toThrow(MigrationError);
    expect(() => importGoAuthAcl('topic sometimes b', { file: 'acls' })).toThrow(
      /acls:1: invalid access "sometimes"/,
    );
  });
});

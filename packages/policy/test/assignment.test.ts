import { describe, expect, it } from 'vitest';
import { policy, principal } from './helpers.js';

const p = policy(
  'version: 1',
  'connect:',
  '  clientIds: ["dev-*", "dash-*", "ops"]',
  '  methods: [x509, password, jwt]',
  'users: { alice: [a] }',
  'groups: { ops: [b] }',
  'bindings:',
  '  - when: { method: x509, attributes: { cert.issuer.cn: "Fleet CA *" } }',
  '    roles: [c]',
  '  - when: { username: "svc-*", clientid: "dash-*" }',
  '    roles: [d]',
  '  - when: { attributes: { scope: "telemetry:read", claims.tenant: acme } }',
  '    roles: [e]',
  'roles:',
  '  a: { rules: [{ effect: allow, actions: publish, topics: a }] }',
  '  b: { rules: [{ effect: allow, actions: publish, topics: b }] }',
  '  c: { rules: [{ effect: allow, actions: publish, topics: c }] }',
  '  d: { rules: [{ effect: allow, actions: publish, topics: d }] }',
  '  e: { rules: [{ effect: allow, actions: publish, topics: e }] }',
  '  f: { rules: [{ effect: allow, actions: publish, topics: f }] }',
);

describe('role assignment', () => {
  it('by username, group, verifier-granted roles (only those the policy defines)', () => {
    expect(p.rolesOf(principal({ username: 'alice' }))).toEqual(['a']);
    expect(p.rolesOf(principal({ groups: ['ops', 'other'] }))).toEqual(['b']);
    expect(p.rolesOf(principal({ roles: ['f', 'unknown'] }))).toEqual(['f']);
    expect(p.rolesOf(principal({ username: 'bob' }))).toEqual([]);
  });

  it('by bindings on method, patterns and attributes (multi-valued attributes match any value)', () => {
    const device = principal({ method: 'x509', attributes: { 'cert.issuer.cn': 'Fleet CA 2' } });
    expect(p.rolesOf(device)).toEqual(['c']);
    expect(p.rolesOf({ ...device, method: 'password' })).toEqual([]);
    expect(p.rolesOf(principal({ method: 'x509', attributes: { 'cert.issuer.cn': 'Other CA' } }))).toEqual(
      [],
    );
    expect(p.rolesOf(principal({ username: 'svc-1', clientId: 'dash-1' }))).toEqual(['d']);
    expect(p.rolesOf(principal({ username: 'svc-1', clientId: 'dev-1' }))).toEqual([]);
    const token = principal({ attributes: { scope: ['openid', 'telemetry:read'], 'claims.tenant': 'acme' } });
    expect(p.rolesOf(token)).toEqual(['e']);
    expect(
      p.rolesOf(principal({ attributes: { scope: ['telemetry:read'], 'claims.tenant': 'beta' } })),
    ).toEqual([]);
    expect(p.authorize(token, { action: 'publish', topic: 'e' }).allowed).toBe(true);
    expect(p.authorize(token, { action: 'publish', topic: 'a' }).allowed).toBe(false);
  });
});

describe('anonymous bindings', () => {
  const q = policy(
    'version: 1',
    'bindings:',
    '  - when: { anonymous: true }',
    '    roles: [anon]',
    '  - when: { anonymous: false }',
    '    roles: [named]',
    'roles:',
    '  anon: { rules: [{ effect: allow, actions: publish, topics: a }] }',
    '  named: { rules: [{ effect: allow, actions: publish, topics: n }] }',
  );

  it('anonymous: true binds only principals without a proven username, false only those with one', () => {
    expect(q.rolesOf(principal({ clientId: 'c' }))).toEqual(['anon']);
    expect(q.rolesOf(principal({ username: 'u' }))).toEqual(['named']);
    expect(q.rolesOf(principal({ username: '' }))).toEqual(['named']);
  });

  it('a username the client merely claimed does not make it a named principal', () => {
    expect(q.rolesOf(principal({ claimedUsername: 'u' }))).toEqual(['anon']);
  });
});

describe('connect rules (admit)', () => {
  it('admits allowed methods and client ids', () => {
    expect(p.admit(principal({ method: 'x509', clientId: 'dev-7' })).allowed).toBe(true);
    expect(p.admit(principal({ method: 'jwt', clientId: 'ops' })).allowed).toBe(true);
  });

  it('refuses another auth method, naming the rule and its line', () => {
    const d = p.admit(principal({ method: 'psk', clientId: 'dev-7' }));
    expect(d).toMatchObject({
      allowed: false,
      reason: 'rule',
      rule: { id: 'connect:methods', source: { line: 4 } },
    });
    expect(d.message).toContain('auth method "psk" is not allowed');
  });

  it('refuses a client id outside the allowlist', () => {
    for (const clientId of ['evil', 'ops2', 'xdev-1', '']) {
      const d = p.admit(principal({ method: 'x509', clientId }));
      expect(d, clientId).toMatchObject({
        allowed: false,
        rule: { id: 'connect:clientIds', source: { line: 3 } },
      });
    }
  });

  it('admits any principal under its own client id when there are no connect rules, unless expired', () => {
    const open = policy('version: 1', 'roles: {}');
    expect(open.admit(principal({ clientId: 'p1' })).allowed).toBe(true);
    expect(open.admit(principal()).allowed).toBe(false);
    expect(open.admit(principal({ clientId: 'p1', expiresAt: 1 })).reason).toBe('expired');
  });
});

describe("the principal's own rules", () => {
  const q = policy(
    'version: 1',
    'users: { u: [r] }',
    'roles: { r: { rules: [{ effect: allow, actions: publish, topics: "shared/#" }] } }',
  );

  it('grant and deny alongside the policy, with placeholders', () => {
    const u = principal({
      username: 'u',
      clientId: 'c9',
      rules: [
        { effect: 'allow', actions: ['publish', 'subscribe'], topics: ['own/${clientid}/#'] },
        { effect: 'deny', actions: ['publish'], topics: ['shared/private'] },
        { effect: 'allow', actions: ['publish'], topics: ['nr'], retain: false },
      ],
    });
    expect(q.authorize(u, { action: 'publish', topic: 'own/c9/x' })).toMatchObject({
      allowed: true,
      rule: { id: 'principal#0' },
    });
    expect(q.authorize(u, { action: 'subscribe', topic: 'own/c9/#' }).allowed).toBe(true);
    expect(q.authorize(u, { action: 'publish', topic: 'own/c8/x' }).allowed).toBe(false);
    expect(q.authorize(u, { action: 'publish', topic: 'shared/private' }).allowed).toBe(false);
    expect(q.authorize(u, { action: 'publish', topic: 'shared/ok' }).allowed).toBe(true);
    expect(q.authorize(u, { action: 'publish', topic: 'nr' }).allowed).toBe(true);
    expect(q.authorize(u, { action: 'publish', topic: 'nr', retain: true }).allowed).toBe(false);
  });

  it('an invalid or unsafe own rule never allows, and an invalid own deny denies everything', () => {
    const bad = principal({
      username: 'u',
      clientId: '#',
      rules: [
        { effect: 'allow', actions: ['publish'], topics: ['x/#/y', 'own/${clientid}'] },
        { effect: 'deny', actions: ['subscribe'], topics: ['a/#/b'] },
      ],
    });
    expect(q.authorize(bad, { action: 'publish', topic: 'x/1/y' }).allowed).toBe(false);
    expect(q.authorize(bad, { action: 'publish', topic: 'own/a' }).allowed).toBe(false);
    expect(q.authorize(bad, { action: 'publish', topic: 'shared/ok' }).allowed).toBe(true);
    expect(q.authorize(bad, { action: 'subscribe', topic: 'shared/ok' })).toMatchObject({
      allowed: false,
      rule: { id: 'principal#1' },
    });
  });
});

describe('per-principal reuse', () => {
  it('equal principals rebuilt per request share decisions; different ones do not', () => {
    const r = policy(
      'version: 1',
      'bindings: [{ when: {}, roles: [d] }]',
      'roles: { d: { rules: [{ effect: allow, actions: publish, topics: "devices/${clientid}/t" }] } }',
    );
    for (let i = 0; i < 3; i++) {
      expect(
        r.authorize(principal({ clientId: 'd1' }), { action: 'publish', topic: 'devices/d1/t' }).allowed,
      ).toBe(true);
      expect(
        r.authorize(principal({ clientId: 'd2' }), { action: 'publish', topic: 'devices/d1/t' }).allowed,
      ).toBe(false);
    }
  });
});

describe('the claimed (unproven) CONNECT username', () => {
  const q = policy(
    'version: 1',
    'superusers: [{ username: admin }]',
    'users: { admin: [own] }',
    'bindings: [{ when: { username: "adm*" }, roles: [own] }]',
    'roles: { own: { rules: [{ effect: allow, actions: all, topics: "users/${username}/#" }] } }',
  );

  it('grants nothing: no users:, superusers:, bindings or ${username} by it', () => {
    const claimed = principal({ id: 'sub-7', method: 'jwt', clientId: 'sub-7', claimedUsername: 'admin' });
    expect(q.rolesOf(claimed)).toEqual([]);
    expect(q.explain(claimed, { action: 'publish', topic: 'x' }).principal.superuser).toBe(false);
    const withRole = { ...claimed, roles: ['own'] };
    expect(q.authorize(withRole, { action: 'publish', topic: 'users/admin/x' }).allowed).toBe(false);
    // The same names, proven, do grant: the test above fails if the claimed name were read.
    const proven = principal({ id: 'admin', username: 'admin', clientId: 'admin' });
    expect(q.rolesOf(proven)).toEqual(['own']);
    expect(q.explain(proven, { action: 'publish', topic: 'x' }).principal.superuser).toBe(true);
    const bob = principal({ username: 'bob', clientId: 'bob', roles: ['own'] });
    expect(q.authorize(bob, { action: 'publish', topic: 'users/bob/x' }).allowed).toBe(true);
  });
});

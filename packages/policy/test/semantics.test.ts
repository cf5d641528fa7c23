import { createGuard } from '@mqtt-warden/core';
import { describe, expect, it } from 'vitest';
import { policy, principal } from './helpers.js';

// Semantics 2–5 of ARCHITECTURE.md: each test fails if its property is lost.

describe('subscriptions must be covered by an allow rule (semantics 2)', () => {
  const p = policy(
    'version: 1',
    'users: { u: [r] }',
    'roles:',
    '  r:',
    '    rules:',
    '      - { effect: allow, actions: read, topics: ["a/+", "b/#", "+"] }',
  );
  const u = principal({ username: 'u' });
  const sub = (topic: string) => p.authorize(u, { action: 'subscribe', topic }).allowed;

  it('admits filters the rule covers', () => {
    expect(sub('a/x')).toBe(true);
    expect(sub('a/+')).toBe(true);
    expect(sub('b/#')).toBe(true);
    expect(sub('b/x/+')).toBe(true);
    expect(sub('b')).toBe(true);
    expect(sub('x')).toBe(true);
  });

  it('refuses a filter the rule matches only in part', () => {
    expect(sub('a/#')).toBe(false); // a/+ does not cover a/#
    expect(sub('#')).toBe(false); // + does not cover #
    expect(sub('a/+/c')).toBe(false);
    expect(sub('+/x')).toBe(false);
  });

  it('keeps the reason: default deny names the coverage rule', () => {
    expect(p.authorize(u, { action: 'subscribe', topic: 'a/#' })).toMatchObject({
      allowed: false,
      reason: 'default',
    });
  });

  it('strips $share and $queue prefixes before the coverage check', () => {
    expect(sub('$share/g/a/x')).toBe(true);
    expect(sub('$share/g/a/#')).toBe(false);
    expect(sub('$queue/b/#')).toBe(true);
  });
});

describe('nothing denied for receive is delivered (semantics 3)', () => {
  const p = policy(
    'version: 1',
    'users: { u: [r] }',
    'roles:',
    '  r:',
    '    rules:',
    '      - { effect: allow, actions: read, topics: ["t/#"] }',
    '      - { effect: deny, actions: receive, topics: ["t/secrets/#"] }',
  );
  const u = principal({ username: 'u' });

  it('denies receiving the denied topics', () => {
    expect(p.authorize(u, { action: 'receive', topic: 't/secrets/k' }).allowed).toBe(false);
    expect(p.authorize(u, { action: 'receive', topic: 't/data' }).allowed).toBe(true);
  });

  it('refuses a wider subscription that overlaps the receive deny', () => {
    // t/+ matches t/secrets, which t/secrets/# matches too.
    for (const topic of ['t/#', '#', 't/+', 't/+/k', '+/secrets/#', '$share/g/t/#']) {
      const d = p.authorize(u, { action: 'subscribe', topic });
      expect(d, topic).toMatchObject({ allowed: false, reason: 'rule' });
      expect(d.rule?.id).toBe('role:r#1');
    }
  });

  it('admits the wider subscription when the broker checks each delivery, and still denies the deliveries', () => {
    for (const topic of ['t/#', 't/+', '$share/g/t/#']) {
      expect(p.authorize(u, { action: 'subscribe', topic, deliveryChecked: true }).allowed, topic).toBe(true);
    }
    // Coverage still applies: no allow rule covers '#'.
    expect(p.authorize(u, { action: 'subscribe', topic: '#', deliveryChecked: true }).allowed).toBe(false);
    expect(p.authorize(u, { action: 'receive', topic: 't/secrets/k' }).allowed).toBe(false);
  });

  it('refuses a subscription overlapping a subscribe deny even when deliveries are checked', () => {
    const q = policy(
      'version: 1',
      'users: { u: [r] }',
      'roles:',
      '  r:',
      '    rules:',
      '      - { effect: allow, actions: read, topics: ["t/#"] }',
      '      - { effect: deny, actions: subscribe, topics: ["t/secrets/#"] }',
    );
    expect(q.authorize(u, { action: 'subscribe', topic: 't/#', deliveryChecked: true }).allowed).toBe(false);
  });

  it('admits subscriptions that cannot reach the denied topics', () => {
    expect(p.authorize(u, { action: 'subscribe', topic: 't/data/#' }).allowed).toBe(true);
    expect(p.authorize(u, { action: 'subscribe', topic: 't/data/+' }).allowed).toBe(true);
    expect(p.authorize(u, { action: 'subscribe', topic: 't/secretsX/#' }).allowed).toBe(true);
  });

  it('counts every QoS up to the subscription QoS when checking overlap with a conditional deny', () => {
    const q = policy(
      'version: 1',
      'users: { u: [r] }',
      'roles:',
      '  r:',
      '    rules:',
      '      - { effect: allow, actions: read, topics: ["t/#"] }',
      '      - { effect: deny, actions: receive, topics: ["t/x"], qos: [0], retain: true }',
    );
    // A QoS 1 subscription still receives QoS 0 (and retained) deliveries.
    expect(q.authorize(u, { action: 'subscribe', topic: 't/#', qos: 1 }).allowed).toBe(false);
  });
});

describe('placeholders never widen access (semantics 4)', () => {
  const p = policy(
    'version: 1',
    'bindings: [{ when: {}, roles: [device] }]',
    'roles:',
    '  device:',
    '    rules:',
    '      - { effect: allow, actions: all, topics: ["devices/${clientid}/#", "users/${username}/inbox"] }',
    '      - { effect: allow, actions: publish, topics: ["sites/${claims.site}/${cert.cn}"] }',
    '      - { effect: deny, actions: publish, topics: ["devices/${username}/locked"] }',
  );

  it('substitutes safe values', () => {
    const d = principal({
      clientId: 'd1',
      username: 'alice',
      attributes: { 'claims.site': 's1', 'cert.cn': 'd1' },
    });
    expect(p.authorize(d, { action: 'publish', topic: 'devices/d1/telemetry' }).allowed).toBe(true);
    expect(p.authorize(d, { action: 'subscribe', topic: 'devices/d1/#' }).allowed).toBe(true);
    expect(p.authorize(d, { action: 'publish', topic: 'users/alice/inbox' }).allowed).toBe(true);
    expect(p.authorize(d, { action: 'publish', topic: 'sites/s1/d1' }).allowed).toBe(true);
    expect(p.authorize(d, { action: 'publish', topic: 'devices/d2/telemetry' }).allowed).toBe(false);
  });

  it.each(['#', '+', 'a/b', '', '\u0000', 'x+y', 'x#'])(
    'an allow rule does not match when the client id is %j',
    (clientId) => {
      const d = principal({ clientId, username: 'bob' });
      for (const topic of [
        'devices/a/b',
        'devices/x/y/z',
        `devices/${clientId.replace(/[+#]/g, 'q').replaceAll('\u0000', 'q')}/t`,
      ]) {
        expect(p.authorize(d, { action: 'publish', topic }).allowed, topic).toBe(false);
      }
      expect(p.authorize(d, { action: 'subscribe', topic: 'devices/#' }).allowed).toBe(false);
      expect(p.authorize(d, { action: 'subscribe', topic: 'devices/+/#' }).allowed).toBe(false);
    },
  );

  it('a missing or multi-valued attribute makes an allow rule not match', () => {
    const none = principal({ clientId: 'd1' });
    expect(p.authorize(none, { action: 'publish', topic: 'sites/s1/d1' }).allowed).toBe(false);
    const many = principal({ clientId: 'd1', attributes: { 'claims.site': ['s1', 's2'], 'cert.cn': 'd1' } });
    expect(p.authorize(many, { action: 'publish', topic: 'sites/s1/d1' }).allowed).toBe(false);
  });

  it('a deny rule with an unsafe value denies every topic of its actions', () => {
    const d = principal({ clientId: 'd1', username: 'a/b' });
    const decision = p.authorize(d, { action: 'publish', topic: 'devices/d1/telemetry' });
    expect(decision).toMatchObject({ allowed: false, reason: 'rule' });
    expect(decision.rule?.id).toBe('role:device#2');
    // Other actions are untouched by that publish-only deny.
    expect(p.authorize(d, { action: 'subscribe', topic: 'devices/d1/#' }).allowed).toBe(true);
    // Without a username at all the deny also applies.
    const anonymous = principal({ clientId: 'd1' });
    expect(p.authorize(anonymous, { action: 'publish', topic: 'devices/d1/telemetry' }).allowed).toBe(false);
  });
});

describe('default deny, combining, superusers (semantics 5)', () => {
  it('denies by default', () => {
    const p = policy('version: 1', 'roles: { r: { rules: [] } }');
    const d = p.authorize(principal(), { action: 'publish', topic: 'a' });
    expect(d).toMatchObject({ allowed: false, reason: 'default' });
  });

  const rules = [
    '      - { effect: allow, actions: publish, topics: ["a/#"] }',
    '      - { effect: deny, actions: publish, topics: ["a/b"] }',
  ];
  const doc = (combining: string, order: string[]) =>
    policy(
      'version: 1',
      `combining: ${combining}`,
      'users: { u: [r] }',
      'roles:',
      '  r:',
      '    rules:',
      ...order,
    );
  const u = principal({ username: 'u' });

  it('deny-overrides is order-independent', () => {
    for (const order of [rules, [...rules].reverse()]) {
      const p = doc('deny-overrides', order);
      expect(p.authorize(u, { action: 'publish', topic: 'a/b' }).allowed).toBe(false);
      expect(p.authorize(u, { action: 'publish', topic: 'a/c' }).allowed).toBe(true);
    }
  });

  it('first-applicable follows file order', () => {
    expect(doc('first-applicable', rules).authorize(u, { action: 'publish', topic: 'a/b' }).allowed).toBe(
      true,
    );
    expect(
      doc('first-applicable', [...rules].reverse()).authorize(u, { action: 'publish', topic: 'a/b' }).allowed,
    ).toBe(false);
  });

  it('first-applicable follows file order across roles', () => {
    const p = policy(
      'version: 1',
      'combining: first-applicable',
      'users: { u: [second, first] }',
      'roles:',
      '  first: { rules: [{ effect: deny, actions: publish, topics: ["x/#"] }] }',
      '  second: { rules: [{ effect: allow, actions: publish, topics: ["x/y"] }] }',
    );
    expect(p.authorize(u, { action: 'publish', topic: 'x/y' })).toMatchObject({
      allowed: false,
      rule: { role: 'first' },
    });
  });

  it('superusers skip topic checks, policy- or principal-declared', () => {
    const p = policy(
      'version: 1',
      'superusers: [{ username: admin, method: x509 }]',
      'roles: { r: { rules: [{ effect: deny, actions: all, topics: ["#"] }] } }',
      'users: { admin: [r] }',
    );
    const admin = principal({ username: 'admin', method: 'x509' });
    expect(p.authorize(admin, { action: 'subscribe', topic: '#' })).toMatchObject({
      allowed: true,
      reason: 'superuser',
    });
    expect(p.authorize(admin, { action: 'publish', topic: '$SYS/x' }).allowed).toBe(true);
    // Same username over another method is not a superuser.
    const viaPassword = principal({ username: 'admin', method: 'password' });
    expect(p.authorize(viaPassword, { action: 'publish', topic: 'a' }).allowed).toBe(false);
    expect(p.authorize(principal({ superuser: true }), { action: 'publish', topic: 'a' }).reason).toBe(
      'superuser',
    );
  });

  it('$ topics are not matched by leading wildcards', () => {
    const p = policy(
      'version: 1',
      'users: { u: [r] }',
      'roles: { r: { rules: [{ effect: allow, actions: all, topics: ["#", "+/x"] }] } }',
    );
    expect(p.authorize(u, { action: 'publish', topic: '$SYS/x' }).allowed).toBe(false);
    expect(p.authorize(u, { action: 'receive', topic: '$SYS/broker/uptime' }).allowed).toBe(false);
    expect(p.authorize(u, { action: 'subscribe', topic: '$SYS/#' }).allowed).toBe(false);
    expect(p.authorize(u, { action: 'publish', topic: 'a/x' }).allowed).toBe(true);
  });

  it('denies invalid topics and filters with reason invalid', () => {
    const p = policy(
      'version: 1',
      'users: { u: [r] }',
      'roles: { r: { rules: [{ effect: allow, actions: all, topics: ["#"] }] } }',
    );
    expect(p.authorize(u, { action: 'publish', topic: 'a/#' }).reason).toBe('invalid');
    expect(p.authorize(u, { action: 'receive', topic: 'a/+' }).reason).toBe('invalid');
    expect(p.authorize(u, { action: 'subscribe', topic: 'a/#/b' }).reason).toBe('invalid');
    expect(p.authorize(u, { action: 'publish', topic: 'a\u0000b' }).reason).toBe('invalid');
  });

  it('denies an expired principal', () => {
    const p = policy(
      'version: 1',
      'users: { u: [r] }',
      'roles: { r: { rules: [{ effect: allow, actions: all, topics: ["#"] }] } }',
    );
    const expired = principal({ username: 'u', expiresAt: Date.now() - 1 });
    expect(p.authorize(expired, { action: 'publish', topic: 'a' }).reason).toBe('expired');
  });
});

describe('with the guard', () => {
  it('the guard uses the policy and its decision matches', () => {
    const p = policy(
      'version: 1',
      'users: { u: [r] }',
      'roles: { r: { rules: [{ effect: allow, actions: publish, topics: ["a"] }] } }',
    );
    const guard = createGuard({ authenticators: [], authorizer: p });
    const u = principal({ username: 'u' });
    expect(guard.authorize(u, { action: 'publish', topic: 'a' }).allowed).toBe(true);
    expect(guard.authorize(u, { action: 'publish', topic: 'a' }).allowed).toBe(true);
    expect(guard.authorize(u, { action: 'publish', topic: 'b' }).allowed).toBe(false);
    expect(guard.stats()).toMatchObject({ cacheHits: 1, cacheMisses: 2 });
  });
});

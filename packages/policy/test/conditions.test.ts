import { describe, expect, it } from 'vitest';
import { policy, principal } from './helpers.js';

describe('rule conditions', () => {
  const p = policy(
    'version: 1',
    'users: { u: [r] }',
    'roles:',
    '  r:',
    '    rules:',
    '      - { effect: allow, actions: publish, topics: q, qos: [0, 1] }',
    '      - { effect: allow, actions: publish, topics: nr, retain: false }',
    '      - { effect: allow, actions: publish, topics: net, from: ["10.0.0.0/8", "2001:db8::/32"] }',
    '      - { effect: allow, actions: publish, topics: tls, tls: required }',
    '      - { effect: allow, actions: publish, topics: ["d/#"] }',
    '      - { effect: deny, actions: publish, topics: ["d/#"], retain: true }',
    '      - { effect: deny, actions: publish, topics: ["d/#"], tls: false }',
    '      - { effect: deny, actions: publish, topics: ["d/#"], from: ["192.0.2.0/24"] }',
  );
  const u = (extra = {}) => principal({ username: 'u', tls: true, remoteAddress: '203.0.113.5', ...extra });
  const pub = (topic: string, extra: object = {}, who = u()) =>
    p.authorize(who, { action: 'publish', topic, ...extra }).allowed;

  it('qos lists the allowed levels; a request without QoS counts as 0', () => {
    expect(pub('q')).toBe(true);
    expect(pub('q', { qos: 1 })).toBe(true);
    expect(pub('q', { qos: 2 })).toBe(false);
  });

  it('retain: false forbids retained publishes; a deny with retain: true denies only retained ones', () => {
    expect(pub('nr')).toBe(true);
    expect(pub('nr', { retain: true })).toBe(false);
    expect(pub('d/x')).toBe(true);
    expect(pub('d/x', { retain: true })).toBe(false);
  });

  it('from matches IPv4, IPv6 and IPv4-mapped IPv6 addresses', () => {
    expect(pub('net', {}, u({ remoteAddress: '10.1.2.3' }))).toBe(true);
    expect(pub('net', {}, u({ remoteAddress: '::ffff:10.1.2.3' }))).toBe(true);
    expect(pub('net', {}, u({ remoteAddress: '2001:db8:1::7' }))).toBe(true);
    expect(pub('net', {}, u({ remoteAddress: '11.0.0.1' }))).toBe(false);
    expect(pub('net', {}, u({ remoteAddress: '2001:db9::1' }))).toBe(false);
    expect(pub('net', {}, u({ remoteAddress: 'not-an-ip' }))).toBe(false);
    expect(pub('d/x', {}, u({ remoteAddress: '192.0.2.44' }))).toBe(false);
  });

  it('tls required matches only TLS connections', () => {
    expect(pub('tls')).toBe(true);
    expect(pub('tls', {}, u({ tls: false }))).toBe(false);
    expect(pub('d/x', {}, u({ tls: false }))).toBe(false);
  });

  it('an unknown address or TLS state fails allow conditions and satisfies deny conditions', () => {
    const unknown = principal({ username: 'u' });
    expect(pub('net', {}, unknown)).toBe(false);
    expect(pub('tls', {}, unknown)).toBe(false);
    // d/x: the tls:false and from deny rules both apply when the facts are unknown.
    const d = p.authorize(unknown, { action: 'publish', topic: 'd/x' });
    expect(d).toMatchObject({ allowed: false, reason: 'rule' });
  });

  it('an address that is not an IP address counts as unknown: the from deny holds', () => {
    for (const remoteAddress of ['not-an-ip', '192.0.2.44x', '', 'fe80::zz']) {
      const d = p.authorize(u({ remoteAddress }), { action: 'publish', topic: 'd/x' });
      expect(d, remoteAddress).toMatchObject({ allowed: false, reason: 'rule' });
      expect(d.rule?.id, remoteAddress).toBe('role:r#7');
    }
    // A readable address outside the deny's block is still allowed.
    expect(pub('d/x', {}, u({ remoteAddress: '203.0.113.9' }))).toBe(true);
  });
});

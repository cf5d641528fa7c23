import { formatExplanation } from '@mqtt-warden/policy';
import { describe, expect, it } from 'vitest';
import { policy, principal } from './helpers.js';

describe('explain', () => {
  const p = policy(
    'version: 1',
    'users: { u: [viewer] }',
    'roles:',
    '  viewer:',
    '    rules:',
    '      - name: read-all',
    '        effect: allow',
    '        actions: read',
    '        topics: ["t/#"]',
    '      - { effect: deny, actions: receive, topics: ["t/secret"] }',
    '      - { effect: allow, actions: read, topics: ["t/x"], qos: [0] }',
  );
  const u = principal({ username: 'u' });

  it('lists the related rules with file:line and the one that decided', () => {
    const e = p.explain(u, { action: 'receive', topic: 't/secret', qos: 1 });
    expect(e.decision).toMatchObject({ allowed: false, reason: 'rule', rule: { id: 'role:viewer#1' } });
    expect(e.principal).toEqual({ id: 'u', roles: ['viewer'], superuser: false });
    expect(e.rules.map((r) => [r.rule.id, r.relation, r.applies])).toEqual([
      ['role:viewer#1', 'matches', true],
      ['role:viewer#read-all', 'matches', true],
    ]);
    expect(e.rules[0]!.rule.source).toEqual({ file: 'test.yaml', line: 10, column: 9 });
    const text = formatExplanation(e);
    expect(text).toMatch(/^DENY receive "t\/secret" qos 1\n/);
    expect(text).toContain(
      'deny  receive   rule #1 of role viewer (test.yaml:10:9), topic "t/secret" matches: DECIDED',
    );
    expect(text).toContain('rule "read-all" of role viewer (test.yaml:6:9), topic "t/#" matches: applies');
  });

  it('says why a rule was skipped and agrees with authorize', () => {
    const request = { action: 'receive', topic: 't/x', qos: 2 } as const;
    const e = p.explain(u, request);
    expect(e.decision).toEqual(p.authorize(u, request));
    expect(e.rules.find((r) => r.rule.id === 'role:viewer#2')).toMatchObject({
      applies: false,
      why: "QoS 2 is not one of the rule's QoS levels",
    });
    expect(formatExplanation(e)).toContain('ALLOW receive "t/x" qos 2');
  });

  it('covers and overlaps for subscriptions', () => {
    const e = p.explain(u, { action: 'subscribe', topic: 't/#' });
    expect(e.decision.allowed).toBe(false);
    expect(e.rules.map((r) => [r.action, r.relation])).toEqual([
      ['receive', 'overlaps'],
      ['subscribe', 'covers'],
    ]);
    expect(formatExplanation(p.explain(principal(), { action: 'publish', topic: 'z' }))).toContain(
      'no rule relates to this topic',
    );
  });
});

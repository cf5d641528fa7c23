import { describe, expect, it } from 'vitest';
import { policy, principal } from './helpers.js';

// The policy skips a principal's own (templated) rule table when the request's first level cannot relate
// to any templated rule. These cases fail if that skip ever hides a rule it should not.
describe('templated rules are found whatever the first level of the request', () => {
  const p = policy(
    'version: 1',
    'users: { u: [r] }',
    'roles:',
    '  r:',
    '    rules:',
    '      - { effect: allow, actions: all, topics: ["users/${username}/#"] }',
    '      - { effect: deny, actions: receive, topics: ["users/${username}/secret/#"] }',
    '      - { effect: allow, actions: read, topics: ["public/#"] }',
    '      - { effect: allow, actions: subscribe, topics: ["#"] }',
  );
  const u = principal({ username: 'u' });
  const ask = (action: 'publish' | 'subscribe' | 'receive', topic: string) =>
    p.authorize(u, { action, topic }).allowed;

  it('uses the templated rules for their own first level', () => {
    expect(ask('publish', 'users/u/x')).toBe(true);
    expect(ask('receive', 'users/u/secret/k')).toBe(false);
    expect(ask('publish', 'users/v/x')).toBe(false);
  });

  it('checks templated denies against subscriptions that start with a wildcard', () => {
    // '#' is covered by the static allow; only the templated receive deny refuses these.
    expect(ask('subscribe', 'public/#')).toBe(true);
    expect(ask('subscribe', '+/u/other')).toBe(true);
    expect(ask('subscribe', '+/u/secret/k')).toBe(false);
    expect(ask('subscribe', '#')).toBe(false);
  });

  it('never skips when a templated rule starts with a placeholder', () => {
    const q = policy(
      'version: 1',
      'users: { u: [r] }',
      'roles:',
      '  r:',
      '    rules:',
      '      - { effect: allow, actions: publish, topics: ["${username}/inbox/#"] }',
      '      - { effect: allow, actions: publish, topics: ["users/${username}"] }',
    );
    expect(q.authorize(u, { action: 'publish', topic: 'u/inbox/1' }).allowed).toBe(true);
    expect(q.authorize(u, { action: 'publish', topic: 'v/inbox/1' }).allowed).toBe(false);
  });

  it('never skips the principal’s own rules, which may start anywhere', () => {
    const own = principal({
      username: 'u',
      rules: [{ effect: 'allow', actions: ['publish'], topics: ['anywhere/${clientid}'] }],
    });
    expect(p.authorize(own, { action: 'publish', topic: 'anywhere/c1' }).allowed).toBe(true);
  });
});

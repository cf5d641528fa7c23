import type { AccessRequest } from '@mqtt-warden/core';
import { describe, expect, it } from 'vitest';
import { policy, principal } from './helpers.js';

// Every lookup of a policy fills one reused array of candidate rules. These cases fail if a lookup ever
// sees the candidates of an earlier lookup or request: a deny found for one topic would refuse the next
// one, or an allow found for one would grant the next.
describe('each lookup starts from no candidates', () => {
  const p = policy(
    'version: 1',
    'users: { u: [r] }',
    'roles:',
    '  r:',
    '    rules:',
    '      - { effect: deny, actions: all, topics: ["a/secret", { eq: "e/secret" }] }',
    '      - { effect: allow, actions: all, topics: ["a/#", { eq: "e/open" }, "e/+/x"] }',
    '      - { effect: deny, actions: receive, topics: ["r/secret"] }',
    '      - { effect: allow, actions: read, topics: ["r/#"] }',
    '      - { effect: allow, actions: publish, topics: ["users/${username}/#"] }',
    '      - { effect: deny, actions: publish, topics: ["users/${username}/locked"] }',
  );
  const u = principal({ username: 'u' });
  const allowed = (request: AccessRequest) => p.authorize(u, request).allowed;
  const publish = (topic: string): AccessRequest => ({ action: 'publish', topic });
  const subscribe = (topic: string): AccessRequest => ({ action: 'subscribe', topic });

  it('a deny found for one topic does not refuse the next one', () => {
    for (let i = 0; i < 3; i++) {
      expect(allowed(publish('a/secret'))).toBe(false);
      expect(allowed(publish('a/other'))).toBe(true);
      expect(allowed(publish('e/secret'))).toBe(false);
      expect(allowed(publish('e/open'))).toBe(true);
      expect(allowed(publish('users/u/locked'))).toBe(false);
      expect(allowed(publish('users/u/free'))).toBe(true);
    }
  });

  it('an allow found for one topic does not grant the next one', () => {
    for (let i = 0; i < 3; i++) {
      expect(allowed(publish('e/open'))).toBe(true);
      expect(allowed(publish('e/closed'))).toBe(false);
      expect(allowed(publish('a/x'))).toBe(true);
      expect(allowed(publish('b/x'))).toBe(false);
    }
  });

  it('a subscription’s deny, receive-deny and allow lookups see only their own rules', () => {
    for (let i = 0; i < 3; i++) {
      // The receive deny overlaps r/#; the next subscription overlaps no deny and is covered.
      expect(allowed(subscribe('r/#'))).toBe(false);
      expect(allowed(subscribe('r/open'))).toBe(true);
      // Covered by nothing, though the lookups before found allows.
      expect(allowed(subscribe('q/open'))).toBe(false);
      expect(allowed(subscribe('e/open'))).toBe(true);
      expect(allowed(subscribe('e/+'))).toBe(false);
    }
  });

  it('explain and authorize alternate without sharing candidates', () => {
    for (let i = 0; i < 3; i++) {
      expect(p.explain(u, publish('a/secret')).decision.allowed).toBe(false);
      expect(allowed(publish('a/other'))).toBe(true);
      expect(p.explain(u, publish('a/other')).decision.allowed).toBe(true);
      expect(allowed(publish('a/secret'))).toBe(false);
    }
  });
});

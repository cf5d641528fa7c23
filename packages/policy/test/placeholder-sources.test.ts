import type { Principal } from '@mqtt-warden/core';
import { describe, expect, it } from 'vitest';
import { policy, principal } from './helpers.js';

// Property: no wildcard injection into policy templates through any value a client or an issuer
// controls: username, client id, principal id, certificate CN, token claims, broker attributes.

const SOURCES: Record<string, (value: string) => Principal> = {
  username: (v) => principal({ username: v }),
  clientid: (v) => principal({ clientId: v }),
  principal: (v) => principal({ id: v }),
  'cert.cn': (v) => principal({ attributes: { 'cert.cn': v } }),
  'claims.site': (v) => principal({ attributes: { 'claims.site': v } }),
  'attr.site': (v) => principal({ attributes: { site: v } }),
};

const UNSAFE = ['#', '+', 'a/b', '', 'a\u0000', 'x#', 'x+'];

describe('placeholders from every source never widen access', () => {
  for (const [name, make] of Object.entries(SOURCES)) {
    const rendered = policy(
      'version: 1',
      'bindings: [{ when: {}, roles: [device] }]',
      'roles:',
      '  device:',
      '    rules:',
      `      - { effect: allow, actions: all, topics: ["\${${name}}/in", "u/\${${name}}/#"] }`,
      `      - { effect: deny, actions: publish, topics: ["u/\${${name}}/locked"] }`,
      '      - { effect: allow, actions: publish, topics: ["open/#"] }',
    );

    it(`\${${name}} with a safe value grants exactly its own topics`, () => {
      const d = make('dev1');
      expect(rendered.authorize(d, { action: 'publish', topic: 'dev1/in' }).allowed).toBe(true);
      expect(rendered.authorize(d, { action: 'subscribe', topic: 'u/dev1/#' }).allowed).toBe(true);
      expect(rendered.authorize(d, { action: 'publish', topic: 'u/dev1/locked' }).allowed).toBe(false);
      expect(rendered.authorize(d, { action: 'publish', topic: 'dev2/in' }).allowed).toBe(false);
      expect(rendered.authorize(d, { action: 'publish', topic: 'open/x' }).allowed).toBe(true);
    });

    it.each(UNSAFE)(`\${${name}} = %j allows nothing through the template and denies every publish`, (v) => {
      const d = make(v);
      for (const topic of ['dev1/in', 'a/b/in', '$SYS/in', 'u/x/y', 'u/a/b/c']) {
        expect(rendered.authorize(d, { action: 'publish', topic }).allowed, topic).toBe(false);
      }
      for (const filter of ['#', '+/in', '$SYS/#', 'u/#', 'u/+/#']) {
        expect(rendered.authorize(d, { action: 'subscribe', topic: filter }).allowed, filter).toBe(false);
      }
      // The templated deny had no safe value, so it applies to every publish, even open/#.
      expect(rendered.authorize(d, { action: 'publish', topic: 'open/x' })).toMatchObject({
        allowed: false,
        reason: 'rule',
      });
    });

    it(`\${${name}} = "$SYS" does not turn a template into a $ topic`, () => {
      const d = make('$SYS');
      expect(rendered.authorize(d, { action: 'publish', topic: '$SYS/in' }).allowed).toBe(false);
      expect(rendered.authorize(d, { action: 'subscribe', topic: '$SYS/in' }).allowed).toBe(false);
      // Inside a topic a leading $ is an ordinary character.
      expect(rendered.authorize(d, { action: 'subscribe', topic: 'u/$SYS/#' }).allowed).toBe(true);
    });
  }
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { policy, principal } from './helpers.js';

// `Policy.authorize` is documented never to throw: adapters call it on the broker's request path.
describe('authorize is total', () => {
  const p = policy(
    'version: 1',
    'users: { u: [r] }',
    'roles:',
    '  r:',
    '    rules:',
    '      - { effect: allow, actions: [publish, subscribe], topics: ["devices/${clientid}/#", "+/x", "$queue/#"] }',
    '      - { effect: deny, actions: [receive], topics: ["devices/+/secret", "cmd/#"] }',
  );
  const u = principal({ username: 'u', clientId: 'd1' });
  const decide = (action: 'publish' | 'subscribe' | 'receive', topic: string) => {
    const decision = p.authorize(u, {
      action,
      topic,
      deliveryChecked: action === 'subscribe' && topic.length % 2 === 0,
    });
    expect(typeof decision.allowed).toBe('boolean');
    return decision;
  };

  it('decides $queue/, nested share prefixes and empty share filters without throwing', () => {
    for (const topic of [
      '$queue/',
      '$queue/$share/g/t',
      '$share/g/$queue/t',
      '$share/g/$share/t',
      '$share/g/',
    ]) {
      expect(decide('subscribe', topic)).toMatchObject({ allowed: false, reason: 'invalid' });
      expect(decide('publish', topic).allowed).toBe(false);
    }
  });

  it('never throws on arbitrary strings', () => {
    const level = fc.oneof(
      fc.constantFrom('$queue', '$share', 'g', '', '+', '#', 'devices', 'd1', 'cmd', 'x', '\u0000', '\ud800'),
      fc.string({ maxLength: 4, unit: 'binary' }),
    );
    const topic = fc.oneof(
      fc.array(level, { maxLength: 6 }).map((levels) => levels.join('/')),
      fc.string({ maxLength: 20, unit: 'binary' }),
    );
    fc.assert(
      fc.property(fc.constantFrom('publish', 'subscribe', 'receive'), topic, (action, t) => {
        decide(action as 'publish' | 'subscribe' | 'receive', t);
      }),
      { numRuns: 20_000 },
    );
  });
});

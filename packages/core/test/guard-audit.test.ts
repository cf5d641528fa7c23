import { describe, expect, it } from 'vitest';
import { type AuditEvent, createGuard, type Principal } from '../src/index.js';

const principal: Principal = {
  id: 'dev1',
  clientId: 'dev1',
  claimedUsername: 'dev1-claimed',
  method: 'password',
  roles: [],
  attributes: {},
  remoteAddress: '192.0.2.1',
};
const rule = { id: 'role:device#0', effect: 'deny' as const, source: { file: 'policy.yaml', line: 7 } };

describe('guard audit hooks', () => {
  it('labels events with the adapter, asks auditAllow before building an allow, and always reports refusals', async () => {
    const events: AuditEvent[] = [];
    let asked = 0;
    const guard = createGuard({
      authenticators: [{ name: 'fixed', authenticate: () => ({ outcome: 'allow', principal }) }],
      authorizer: {
        authorize: (_p, request) =>
          request.topic === 'ok'
            ? { allowed: true, reason: 'rule' }
            : { allowed: false, reason: 'rule', rule },
        admit: (p) =>
          p.clientId === 'dev1'
            ? { allowed: true, reason: 'default' }
            : { allowed: false, reason: 'rule', rule },
      },
      audit: (event) => events.push(event),
      // Every second allow is sampled.
      auditAllow: () => asked++ % 2 === 0,
    });
    for (let n = 0; n < 4; n++)
      guard.authorize(principal, { action: 'publish', topic: 'ok' }, { adapter: 'emqx' });
    guard.authorize(principal, { action: 'publish', topic: 'no' }, { adapter: 'emqx' });
    expect(asked).toBe(4);
    expect(events.map((e) => [e.type, e.allowed, e.adapter])).toEqual([
      ['authorize', true, 'emqx'],
      ['authorize', true, 'emqx'],
      ['authorize', false, 'emqx'],
    ]);
    expect(events[2]).toMatchObject({ rule, username: 'dev1-claimed', remoteAddress: '192.0.2.1' });

    const refused = createGuard({
      authenticators: [
        {
          name: 'fixed',
          authenticate: () => ({ outcome: 'allow', principal: { ...principal, clientId: 'x' } }),
        },
      ],
      authorizer: {
        authorize: () => ({ allowed: true, reason: 'rule' }),
        admit: () => ({ allowed: false, reason: 'rule', rule }),
      },
      audit: (event) => events.push(event),
    });
    const result = await refused.authenticate(
      { clientId: 'x', transport: { tls: false } },
      { adapter: 'go-auth' },
    );
    expect(result).toMatchObject({ ok: false, reason: 'not-authorized', rule });
    expect(events.at(-1)).toMatchObject({ type: 'authenticate', allowed: false, adapter: 'go-auth', rule });
  });
});

import { createGuard, type Guard } from '@mqtt-warden/core';
import { afterEach, describe, expect, it } from 'vitest';
import { wardenHooks } from '../src/index.js';
import { connect, end, startBroker, type TestBroker } from './helpers.js';

// Property: fail closed. The Guard contract says authenticate never rejects; a custom or broken Guard
// that does must still end in a refused CONNACK, never an accepted connection.

const working = createGuard({
  authenticators: [
    {
      name: 'any',
      authenticate: ({ clientId }) => ({
        outcome: 'allow',
        principal: { id: clientId, clientId, method: 'test', roles: [], attributes: {} },
      }),
    },
  ],
  authorizer: { authorize: () => ({ allowed: true, reason: 'rule' }) },
});

let running: TestBroker | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe('wardenHooks with a guard that rejects', () => {
  it('refuses the CONNECT with CONNACK 3 (server unavailable)', async () => {
    const broken: Guard = { ...working, authenticate: () => Promise.reject(new Error('guard bug')) };
    const hooks = wardenHooks(broken);
    running = await startBroker({ ...hooks });
    const c = await connect(`mqtt://127.0.0.1:${running.ports.tcp}`, {
      clientId: 'd1',
      username: 'u',
      password: 'p',
    });
    expect(c.returnCode).toBe(3);
    await end(c);
    hooks.close();
  });

  it('accepts the same CONNECT with a working guard (control)', async () => {
    const hooks = wardenHooks(working);
    running = await startBroker({ ...hooks });
    const c = await connect(`mqtt://127.0.0.1:${running.ports.tcp}`, {
      clientId: 'd1',
      username: 'u',
      password: 'p',
    });
    expect(c.returnCode).toBe(0);
    await end(c);
    hooks.close();
  });
});

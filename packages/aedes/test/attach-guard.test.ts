import { createServer } from 'node:net';
import { createGuard } from '@mqtt-warden/core';
import { Aedes } from 'aedes';
import { describe, expect, it } from 'vitest';
import { attachGuard } from '../src/index.js';
import { connect, end } from './helpers.js';

describe('attachGuard', () => {
  it('guards a broker that is already listening, and releases policy notifications when it closes', async () => {
    let listeners = 0;
    const guard = createGuard({
      authenticators: [
        {
          name: 'only-alice',
          authenticate: (request) =>
            request.username === 'alice'
              ? {
                  outcome: 'allow',
                  principal: {
                    id: 'alice',
                    clientId: request.clientId,
                    method: 'test',
                    roles: [],
                    attributes: {},
                  },
                }
              : { outcome: 'deny', reason: 'bad-credentials' },
        },
      ],
      authorizer: { authorize: () => ({ allowed: false, reason: 'default' }) },
    });
    const onChange = guard.onChange.bind(guard);
    guard.onChange = (listener) => {
      listeners++;
      const off = onChange(listener);
      return () => {
        listeners--;
        off();
      };
    };
    const broker = await Aedes.createBroker();
    attachGuard(broker, guard);
    expect(listeners).toBe(1);
    const server = createServer(broker.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`;

    expect((await connect(url, { username: 'mallory' })).returnCode).toBe(4);
    const alice = await connect(url, { username: 'alice' });
    expect(alice.returnCode).toBe(0);
    await end(alice);

    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(listeners).toBe(0);
  });
});

import { createGuard } from '@mqtt-warden/core';
import { describe, expect, it } from 'vitest';
import { heapAfterGc, longTopics, MiB } from '../../../test/heap.js';
import { attachGuard } from '../src/index.js';
import { connect, connectedClient, end, publish, startBroker } from './helpers.js';

describe('per-client memory', () => {
  it("one client's 2,000 distinct 15 KB topics: bounded while connected, freed at disconnect", async () => {
    // Before issue 10 the guard's key table kept every topic (~30 MiB here; 574 MiB in the red-team run)
    // after the client had gone, and each client remembered up to 1,024 of them per action.
    let decisions = 0;
    const guard = createGuard({
      authenticators: [
        {
          name: 'test',
          authenticate: (request) => ({
            outcome: 'allow',
            principal: {
              id: 'flooder',
              clientId: request.clientId,
              method: 'test',
              roles: [],
              attributes: {},
            },
          }),
        },
      ],
      authorizer: {
        authorize: () => {
          decisions++;
          return { allowed: true, reason: 'rule' };
        },
      },
    });
    const server = await startBroker({});
    const hooks = attachGuard(server.broker, guard);
    try {
      const url = `mqtt://127.0.0.1:${server.ports.tcp}`;
      // A warm-up client first, so that code compiled and buffers grown on first use are not counted.
      const warmUp = await connect(url, { clientId: 'warm-up' });
      for (const topic of longTopics(200, 100, 'warm/')) warmUp.client.publish(topic, '', { qos: 0 });
      expect(await publish(warmUp.client, 'sync', '', { qos: 1 })).toBeUndefined();
      await end(warmUp);
      await warmUp.closed;
      const before = heapAfterGc();
      const flooder = await connect(url, { clientId: 'flooder' });
      for (const topic of longTopics(2_000, 15_000, 'long/')) flooder.client.publish(topic, '', { qos: 0 });
      // Aedes handles a client's packets in order: this PUBACK means every publish above was authorized.
      expect(await publish(flooder.client, 'sync', '', { qos: 1 })).toBeUndefined();
      const client = connectedClient(server.broker, 'flooder');
      expect(hooks.principalOf(client)?.id).toBe('flooder');
      const connected = heapAfterGc() - before;
      await end(flooder);
      await flooder.closed;
      await new Promise((resolve) => setTimeout(resolve, 50));
      const after = heapAfterGc() - before;

      // Measured: 15 MiB both before the bounds, under 1 MiB after (as much as an unguarded broker keeps).
      expect(connected).toBeLessThan(6 * MiB);
      expect(after).toBeLessThan(4 * MiB);
      expect(hooks.principalOf(client)).toBeUndefined(); // its state went with the connection
      expect(decisions).toBeGreaterThanOrEqual(2_000); // every publish was decided
      expect(guard.stats().cacheSize).toBeGreaterThan(0); // and the guard is still alive here
    } finally {
      await server.close();
    }
  });
});

import { MemoryRegistry } from '@mqtt-warden/registry';
import { beforeEach, describe, expect, it } from 'vitest';
import { type BrokerConnector, ConnectorError, type DeviceSessions, followChanges } from '../src/index.js';

const context = { actor: 'test' };

/** A connector that records what it was asked, failing the first `failures` calls. */
function recorder(failures = 0) {
  const calls: string[] = [];
  let left = failures;
  const record = async (what: string) => {
    if (left-- > 0) throw new ConnectorError('ERR_CONNECTOR_UNREACHABLE', 'down');
    calls.push(what);
  };
  const sessions = (d: DeviceSessions) => `${d.username}[${d.clientIds.join(',')}]`;
  const connector: BrokerConnector = {
    name: 'rec',
    disconnect: (d) => record(`disconnect ${sessions(d)}`),
    refresh: (d) => record(`refresh ${sessions(d)}`),
    refreshAll: () => record('refresh-all'),
  };
  return { connector, calls };
}

describe('followChanges', () => {
  let store: MemoryRegistry;
  beforeEach(async () => {
    store = new MemoryRegistry();
    await store.createDevice(
      { id: 'sensor-1', username: 'u1', clientIds: ['c1', 'c2'], roles: ['a'] },
      context,
    );
  });

  it('disconnects a disabled device from every connector, and refreshes one whose roles changed', async () => {
    const one = recorder();
    const two = recorder();
    const feed = followChanges(store, { connectors: [one.connector, { ...two.connector, name: 'two' }] });
    await store.updateDevice('sensor-1', { roles: ['b'] }, context);
    await feed.idle();
    await store.updateDevice('sensor-1', { enabled: false }, context);
    await feed.idle();
    for (const { calls } of [one, two]) {
      expect(calls).toEqual(['refresh u1[c1,c2]', 'disconnect u1[c1,c2]']);
    }
    feed.close();
  });

  it('disconnects an expired device and a deleted one (by its id and last username)', async () => {
    const { connector, calls } = recorder();
    const feed = followChanges(store, { connectors: [connector] });
    await store.updateDevice('sensor-1', { expiresAt: new Date(Date.now() - 1000) }, context);
    await feed.idle();
    await store.createDevice({ id: 'sensor-2' }, context);
    await feed.idle();
    await store.deleteDevice('sensor-2', context);
    await feed.idle();
    expect(calls).toEqual([
      'disconnect u1[c1,c2]',
      'refresh sensor-2[sensor-2]',
      'disconnect sensor-2[sensor-2]',
    ]);
    feed.close();
  });

  it('disconnects on a revoked credential, not on an added one', async () => {
    const { connector, calls } = recorder();
    const feed = followChanges(store, { connectors: [connector] });
    const credential = await store.addCredential(
      'sensor-1',
      { kind: 'password', hash: '$argon2id$x' },
      context,
    );
    await feed.idle();
    expect(calls).toEqual([]);
    await store.revokeCredential('sensor-1', credential.id, context);
    await feed.idle();
    expect(calls).toEqual(['disconnect u1[c1,c2]']);
    feed.close();
  });

  it("refreshes every client's permissions when a policy version is activated", async () => {
    const { connector, calls } = recorder();
    const feed = followChanges(store, { connectors: [connector] });
    const version = await store.addPolicyVersion(
      { text: 'version: 1\nroles: {}\n', format: 'yaml' },
      context,
    );
    await store.activatePolicyVersion(version.version, context);
    await feed.idle();
    expect(calls).toContain('refresh-all');
    feed.close();
  });

  it('retries a failing broker with back-off, logging the code, and counts it', async () => {
    const { connector, calls } = recorder(2);
    const logged: object[] = [];
    const log = { warn: (o: object) => logged.push(o), error: (o: object) => logged.push(o) };
    const feed = followChanges(store, { connectors: [connector], log, baseDelayMs: 5 });
    await store.updateDevice('sensor-1', { enabled: false }, context);
    await feed.idle();
    expect(calls).toEqual(['disconnect u1[c1,c2]']);
    expect(logged).toEqual([
      { job: 'rec:disconnect:sensor-1', attempt: 1, code: 'ERR_CONNECTOR_UNREACHABLE' },
      { job: 'rec:disconnect:sensor-1', attempt: 2, code: 'ERR_CONNECTOR_UNREACHABLE' },
    ]);
    expect(feed.stats).toMatchObject({ failed: 2, gaveUp: 0, pending: 0 });
    feed.close();
  });

  it('stops listening when closed', async () => {
    const { connector, calls } = recorder();
    const feed = followChanges(store, { connectors: [connector] });
    feed.close();
    await store.updateDevice('sensor-1', { enabled: false }, context);
    await feed.idle();
    expect(calls).toEqual([]);
  });
});

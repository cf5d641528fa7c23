/**
 * Revocation reaches connected Aedes clients: a real Aedes broker guarded by a password authenticator
 * reading a MemoryRegistry, MQTT.js clients over TCP, and the adapter following the registry's change feed.
 */
import { attachGuard, type PrincipalChanges } from '@mqtt-warden/aedes';
import { createGuard, type Principal } from '@mqtt-warden/core';
import { type CredentialStore, createPasswordAuthenticator, hashPassword } from '@mqtt-warden/password';
import { parsePolicy } from '@mqtt-warden/policy';
import { MemoryRegistry } from '@mqtt-warden/registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  collect,
  connect,
  connectedClient,
  delay,
  end,
  publish,
  startBroker,
  subscribeRaw,
  type TestBroker,
} from '../packages/aedes/test/helpers.js';

const CHEAP = { memoryCost: 256, timeCost: 1 };
const POLICY = `
version: 1
superusers: [{ username: ops }]
roles:
  reader:
    rules: [{ effect: allow, actions: [subscribe, receive], topics: "fleet/#" }]
  alerts:
    rules: [{ effect: allow, actions: [subscribe, receive], topics: "alerts/#" }]
  speaker:
    rules: [{ effect: allow, actions: publish, topics: "fleet/#" }]
`;
const context = { actor: 'test' };

describe('Aedes following a registry: revoked devices are dropped, changed ones re-checked', () => {
  let server: TestBroker;
  let store: MemoryRegistry;
  const url = () => `mqtt://127.0.0.1:${server.ports.tcp}`;
  const login = (id: string, extra: object = {}) =>
    connect(url(), { clientId: id, username: id, password: `${id}-password`, ...extra });

  beforeAll(async () => {
    store = new MemoryRegistry();
    for (const [id, roles] of [
      ['ops', []],
      ['sensor-1', ['reader', 'alerts']],
      ['sensor-2', ['reader', 'speaker']],
      ['sensor-3', ['reader']],
      ['sensor-4', ['reader']],
    ] as const) {
      await store.createDevice({ id, roles: [...roles] }, context);
      await store.addCredential(
        id,
        { kind: 'password', hash: await hashPassword(`${id}-password`, CHEAP) },
        context,
      );
    }
    // The registry's devices as password users (the server's wiring does this for `store:`).
    const users: CredentialStore = {
      async get(username) {
        const found = await store.findCredentials({ kind: 'password', username });
        const credential = found?.credentials[0];
        if (!found || credential?.kind !== 'password') return undefined;
        const { device } = found;
        return { username, hash: credential.hash, roles: device.roles, disabled: !device.enabled };
      },
      entries: () => [],
      onChange: () => () => {},
    };
    const changes: PrincipalChanges = {
      source: store,
      async revalidate(principal: Principal, change) {
        if (principal.id === 'sensor-3' && change.kind === 'device') throw new Error('store down');
        const device = await store.getDevice(principal.id);
        if (!device?.enabled) return undefined;
        if (change.credentialId !== undefined) {
          // The session may have logged in with the revoked credential.
          const credentials = await store.listCredentials(device.id);
          const revokedAt = credentials.find((c) => c.id === change.credentialId)?.revokedAt;
          if (revokedAt !== undefined && revokedAt <= new Date()) return undefined;
        }
        return { ...principal, roles: device.roles };
      },
    };
    const guard = createGuard({
      authenticators: [createPasswordAuthenticator({ store: users })],
      authorizer: parsePolicy(POLICY),
    });
    server = await startBroker({});
    attachGuard(server.broker, guard, { changes });
  });
  afterAll(() => server?.close());

  it('closes a disabled device within a second, without publishing its will', async () => {
    const ops = await login('ops');
    const seen = collect(ops.client);
    expect(await subscribeRaw(ops, { 'fleet/#': { qos: 0 } })).toEqual([0]);
    const sensor = await login('sensor-2', {
      will: { topic: 'fleet/will', payload: 'bye', qos: 0, retain: false },
    });
    expect(sensor.returnCode).toBe(0);
    const started = Date.now();
    await store.updateDevice('sensor-2', { enabled: false }, context);
    await Promise.race([
      sensor.closed,
      delay(1000).then(() => Promise.reject(new Error('still open after 1 s'))),
    ]);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(1000);
    await delay(200);
    expect(seen.map((m) => m.topic)).not.toContain('fleet/will');
    // And it cannot come back.
    expect((await login('sensor-2')).returnCode).toBe(5);
    await end(ops);
  });

  it('removes the subscription a role change took away, and delivers on the ones kept', async () => {
    const ops = await login('ops');
    const sensor = await login('sensor-1');
    const got = collect(sensor.client);
    expect(await subscribeRaw(sensor, { 'fleet/#': { qos: 0 }, 'alerts/#': { qos: 0 } })).toEqual([0, 0]);
    await publish(ops.client, 'alerts/a', 'before');
    await delay(100);
    await store.updateDevice('sensor-1', { roles: ['reader'] }, context);
    await delay(300);
    const subscriptions = Object.keys(
      (connectedClient(server.broker, 'sensor-1') as unknown as { subscriptions: object }).subscriptions,
    );
    expect(subscriptions).toEqual(['fleet/#']);
    await publish(ops.client, 'alerts/a', 'after');
    await publish(ops.client, 'fleet/a', 'kept');
    await delay(200);
    expect(got.map((m) => `${m.topic} ${m.payload}`)).toEqual(['alerts/a before', 'fleet/a kept']);
    // Still connected, and the lost filter is refused on a new SUBSCRIBE.
    expect(await subscribeRaw(sensor, { 'alerts/#': { qos: 0 } })).toEqual([0x80]);
    await end(sensor);
    await end(ops);
  });

  it('disconnects when a change cannot be checked (fail closed)', async () => {
    const sensor = await login('sensor-3');
    expect(sensor.returnCode).toBe(0);
    await store.updateDevice('sensor-3', { attributes: { site: 'b' } }, context);
    await Promise.race([
      sensor.closed,
      delay(1000).then(() => Promise.reject(new Error('still open after 1 s'))),
    ]);
  });

  it('keeps a device connected when a credential is added, and disconnects it when one is revoked', async () => {
    const sensor = await login('sensor-4');
    const added = await store.addCredential(
      'sensor-4',
      { kind: 'password', hash: await hashPassword('second-password', CHEAP) },
      context,
    );
    await delay(300);
    expect(sensor.client.connected).toBe(true);
    await store.revokeCredential('sensor-4', added.id, context);
    await Promise.race([
      sensor.closed,
      delay(1000).then(() => Promise.reject(new Error('still open after 1 s'))),
    ]);
  });

  it('leaves clients of other devices alone', async () => {
    const ops = await login('ops');
    await store.updateDevice('sensor-1', { attributes: { site: 'c' } }, context);
    await delay(300);
    expect(ops.client.connected).toBe(true);
    await end(ops);
  });
});

/**
 * TLS-PSK for Aedes from the device registry: a real Aedes broker on a node:tls PSK listener whose
 * synchronous pskCallback reads RegistryPskKeys, fed by a MemoryRegistry and by PostgreSQL (own schema,
 * written through a second store instance so the change arrives by LISTEN/NOTIFY). Debian's mosquitto_pub
 * is the client; revocation is measured with raw TLS handshakes.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import { attachGuard } from '@mqtt-warden/aedes';
import { createGuard } from '@mqtt-warden/core';
import { parsePolicy } from '@mqtt-warden/policy';
import {
  createPskCallback,
  createRegistryPskAuthenticator,
  generatePskKey,
  type PskRegistry,
  pskIdentityOf,
  RegistryPskKeys,
  revalidateRegistryPsk,
} from '@mqtt-warden/psk';
import {
  createPostgresRegistry,
  MemoryRegistry,
  migrateRegistry,
  type RegistryChange,
  type RegistryStore,
} from '@mqtt-warden/registry';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { delay, startBroker, type TestBroker } from '../packages/aedes/test/helpers.js';

const CIPHERS = 'PSK-AES128-GCM-SHA256';
const POLICY = `
version: 1
roles:
  sensor:
    clientIds: "*" # the registry authenticator already bound the client id to the device's clientIds
    rules: [{ effect: allow, actions: [publish, subscribe, receive], topics: "devices/\${clientid}/#" }]
`;
const context = { actor: 'test' };
const hex = (key: Uint8Array) => Buffer.from(key).toString('hex');

function mosquittoPub(port: number, identity: string, key: Uint8Array, clientId: string) {
  const args = ['-h', '127.0.0.1', '-p', String(port), '--psk-identity', identity, '--psk', hex(key)];
  args.push('--ciphers', CIPHERS, '-i', clientId, '-t', `devices/${clientId}/up`, '-m', 'hello', '-q', '1');
  return new Promise<number>((resolve) => {
    execFile('mosquitto_pub', args, { timeout: 10_000 }, (error) =>
      resolve(error ? Number(error.code ?? 1) : 0),
    );
  });
}

/** Whether a TLS-PSK handshake with this identity and key completes. */
function handshake(port: number, identity: string, psk: Uint8Array) {
  return new Promise<boolean>((resolve) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      ciphers: CIPHERS,
      maxVersion: 'TLSv1.2',
      pskCallback: () => ({ identity, psk }),
      checkServerIdentity: () => undefined,
    });
    socket.on('secureConnect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
    socket.on('close', () => resolve(false));
  });
}

/** Milliseconds from now until a handshake fails (throws after `limitMs`). */
async function msUntilRefused(port: number, identity: string, psk: Uint8Array, limitMs = 3_000) {
  const started = performance.now();
  while (performance.now() - started < limitMs) {
    if (!(await handshake(port, identity, psk))) return performance.now() - started;
    await delay(5);
  }
  throw new Error(`handshake of ${identity} still accepted after ${limitMs} ms`);
}

interface Setup {
  /** The store RegistryPskKeys reads. */
  readonly reader: RegistryStore;
  /** The store the test writes through (another replica for PostgreSQL). */
  readonly writer: RegistryStore;
  close(): Promise<void>;
}

function brokerSuite(name: string, open: () => Promise<Setup>) {
  describe(`Aedes TLS-PSK from the registry (${name})`, () => {
    let setup: Setup;
    let keys: RegistryPskKeys;
    let server: TestBroker;
    const published: string[] = [];
    const k1 = generatePskKey();
    const k2 = generatePskKey();
    const port = () => server.ports.psk!;

    beforeAll(async () => {
      setup = await open();
      const { writer } = setup;
      await writer.createDevice(
        {
          id: 'dev-1',
          username: 'user-1',
          clientIds: ['dev-1', 'dev-1b'],
          roles: ['sensor'],
          groups: ['g1'],
          attributes: { site: 'a' },
        },
        context,
      );
      await writer.addCredential('dev-1', { kind: 'psk', identity: 'id-1', key: k1 }, context);
      await writer.createDevice({ id: 'dev-2', roles: ['sensor'] }, context);
      await writer.addCredential('dev-2', { kind: 'psk', identity: 'id-2', key: k2 }, context);
      await writer.createDevice({ id: 'dev-off', enabled: false, roles: ['sensor'] }, context);
      await writer.addCredential('dev-off', { kind: 'psk', identity: 'id-off', key: k1 }, context);
      keys = await RegistryPskKeys.load(setup.reader);
      const guard = createGuard({
        authenticators: [createRegistryPskAuthenticator(keys)],
        authorizer: parsePolicy(POLICY),
      });
      server = await startBroker(
        {},
        { tls: { psk: { pskCallback: createPskCallback(keys), ciphers: CIPHERS, pskIdentityHint: 'w' } } },
      );
      attachGuard(server.broker, guard, {
        pskIdentityOf,
        changes: { source: setup.reader, revalidate: revalidateRegistryPsk(keys) },
      });
      server.broker.on('publish', (packet, client) => {
        if (client) published.push(`${client.id} ${packet.topic}`);
      });
    });
    afterAll(async () => {
      await server?.close();
      keys?.close();
      await setup?.close();
    });

    it('mosquitto_pub connects with the registered PSK and publishes; wrong key, unknown or disabled identity fail', async () => {
      expect(keys.size).toBe(2);
      expect(await mosquittoPub(port(), 'id-1', k1, 'dev-1')).toBe(0);
      expect(await mosquittoPub(port(), 'id-1', k1, 'dev-1b')).toBe(0);
      expect(published).toEqual(['dev-1 devices/dev-1/up', 'dev-1b devices/dev-1b/up']);
      expect(await mosquittoPub(port(), 'id-1', k2, 'dev-1')).not.toBe(0);
      expect(await mosquittoPub(port(), 'id-x', k1, 'dev-1')).not.toBe(0);
      expect(await mosquittoPub(port(), 'id-off', k1, 'dev-off')).not.toBe(0);
      expect(published).toHaveLength(2);
    });

    it("refuses a client id that is not the device's (CONNACK 5 after the handshake)", async () => {
      const before = published.length;
      expect(await handshake(port(), 'id-2', k2)).toBe(true);
      expect(await mosquittoPub(port(), 'id-2', k2, 'dev-1')).toBe(5);
      expect(await mosquittoPub(port(), 'id-2', k2, 'dev-2')).toBe(0);
      expect(published.slice(before)).toEqual(['dev-2 devices/dev-2/up']);
    });

    it("yields the device's principal: id, proven username, roles, groups, attributes", async () => {
      const outcome = await createRegistryPskAuthenticator(keys).authenticate({
        clientId: 'dev-1',
        transport: { tls: true, pskIdentity: 'id-1' },
      });
      expect(outcome).toMatchObject({
        outcome: 'allow',
        principal: {
          id: 'dev-1',
          username: 'user-1',
          method: 'psk',
          roles: ['sensor'],
          groups: ['g1'],
          attributes: { site: 'a', 'psk.identity': 'id-1', 'device.id': 'dev-1' },
        },
      });
      // The CONNECT username cannot be another one.
      const other = await createRegistryPskAuthenticator(keys).authenticate({
        clientId: 'dev-1',
        username: 'dev-2',
        transport: { tls: true, pskIdentity: 'id-1' },
      });
      expect(other).toMatchObject({ outcome: 'deny', reason: 'not-authorized' });
    });

    it('a disabled device fails its next handshake within a second of the store write; enabled again, it connects', async () => {
      expect(await handshake(port(), 'id-1', k1)).toBe(true);
      await setup.writer.updateDevice('dev-1', { enabled: false }, context);
      const ms = await msUntilRefused(port(), 'id-1', k1);
      console.log(`[${name}] disable → handshake refused after ${ms.toFixed(1)} ms`);
      expect(ms).toBeLessThan(1_000);
      expect(await mosquittoPub(port(), 'id-1', k1, 'dev-1')).not.toBe(0);
      await setup.writer.updateDevice('dev-1', { enabled: true }, context);
      await expect.poll(() => handshake(port(), 'id-1', k1), { timeout: 3_000 }).toBe(true);
      expect(await mosquittoPub(port(), 'id-1', k1, 'dev-1')).toBe(0);
    });

    it('a revoked PSK credential fails within a second; a new one on the same device works', async () => {
      const [credential] = await setup.writer.listCredentials('dev-2');
      await setup.writer.revokeCredential('dev-2', credential!.id, context);
      const ms = await msUntilRefused(port(), 'id-2', k2);
      console.log(`[${name}] revoke → handshake refused after ${ms.toFixed(1)} ms`);
      expect(ms).toBeLessThan(1_000);
      const k3 = generatePskKey();
      await setup.writer.addCredential('dev-2', { kind: 'psk', identity: 'id-2b', key: k3 }, context);
      await expect.poll(() => handshake(port(), 'id-2b', k3), { timeout: 3_000 }).toBe(true);
      expect(await mosquittoPub(port(), 'id-2b', k3, 'dev-2')).toBe(0);
      expect(await handshake(port(), 'id-2', k2)).toBe(false);
    });

    it('drops a connected mosquitto_sub within a second when its device is disabled, not on a role change', async () => {
      const k4 = generatePskKey();
      await setup.writer.createDevice({ id: 'dev-4', roles: ['sensor'] }, context);
      await setup.writer.addCredential('dev-4', { kind: 'psk', identity: 'id-4', key: k4 }, context);
      await expect.poll(() => handshake(port(), 'id-4', k4), { timeout: 3_000 }).toBe(true);
      const sub = spawn(
        'mosquitto_sub',
        [
          ...['-h', '127.0.0.1', '-p', String(port()), '--psk-identity', 'id-4', '--psk', hex(k4)],
          ...['--ciphers', CIPHERS, '-i', 'dev-4', '-t', 'devices/dev-4/#'],
        ],
        { stdio: 'ignore' },
      );
      const exited = new Promise<number | null>((resolve) => sub.once('exit', resolve));
      await expect.poll(() => server.broker.connectedClients, { timeout: 5_000 }).toBeGreaterThan(0);
      await setup.writer.updateDevice('dev-4', { groups: ['other'] }, context);
      await delay(300);
      expect(sub.exitCode).toBeNull();
      const started = performance.now();
      await setup.writer.updateDevice('dev-4', { enabled: false }, context);
      const code = await Promise.race([exited, delay(1_000).then(() => 'open' as const)]);
      const ms = performance.now() - started;
      if (code === 'open') sub.kill();
      console.log(`[${name}] disable → connected client dropped after ${ms.toFixed(1)} ms`);
      expect(code).not.toBe('open');
    });
  });
}

brokerSuite('MemoryRegistry', async () => {
  const store = new MemoryRegistry();
  return { reader: store, writer: store, close: () => store.close() };
});

const URL = process.env.WARDEN_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
brokerSuite('PostgreSQL', async () => {
  const schema = `psk_keys_${randomBytes(4).toString('hex')}`;
  await migrateRegistry({ url: URL, schema });
  const encryptionKeys = [randomBytes(32)];
  const reader = await createPostgresRegistry({ url: URL, schema, encryptionKeys, poolSize: 2 });
  const writer = await createPostgresRegistry({ url: URL, schema, encryptionKeys, poolSize: 2 });
  return {
    reader,
    writer,
    async close() {
      await reader.close();
      await writer.close();
      const admin = postgres(URL, { max: 1, onnotice: () => {} });
      await admin`DROP SCHEMA IF EXISTS ${admin(schema)} CASCADE`;
      await admin.end();
    },
  };
});

/** A MemoryRegistry that can go down and announce a resync, as the PostgreSQL store does after a reconnect. */
function flakyRegistry(store: MemoryRegistry) {
  const listeners = new Set<(change: RegistryChange) => void>();
  let down = false;
  let deaf = false;
  const guard = <T>(call: () => Promise<T>) => (down ? Promise.reject(new Error('down')) : call());
  const registry: PskRegistry = {
    listDevices: (query) => guard(() => store.listDevices(query)),
    getDevice: (id) => guard(() => store.getDevice(id)),
    listCredentials: (id) => guard(() => store.listCredentials(id)),
    onChange(listener) {
      listeners.add(listener);
      const off = store.onChange((change) => {
        if (!deaf) listener(change);
      });
      return () => {
        listeners.delete(listener);
        off();
      };
    },
  };
  return {
    registry,
    setDown: (value: boolean) => {
      down = value;
    },
    setDeaf: (value: boolean) => {
      deaf = value;
    },
    resync: () => {
      for (const listener of listeners) listener({ epoch: 0, kind: 'resync' });
    },
  };
}

describe('RegistryPskKeys: bounded, fail closed', () => {
  const logged: { code?: unknown; msg?: string }[] = [];
  const logger = {
    warn: (obj: { code?: unknown }, msg?: string) => logged.push({ ...obj, msg }),
    error: (obj: { code?: unknown }, msg?: string) => logged.push({ ...obj, msg }),
  };

  async function fleet(n: number) {
    const store = new MemoryRegistry();
    for (let i = 0; i < n; i++) {
      await store.createDevice({ id: `d${i}` }, context);
      await store.addCredential(`d${i}`, { kind: 'psk', identity: `i${i}`, key: generatePskKey() }, context);
    }
    return store;
  }

  it('refuses to load a fleet over maxBytes with ERR_PSK_KEYS_FULL, and reports the cost it holds', async () => {
    const store = await fleet(20);
    const all = await RegistryPskKeys.load(store);
    expect(all.size).toBe(20);
    const perDevice = all.bytes / 20;
    // The documented estimate: about 1.6 KB for a small device with one identity.
    expect(perDevice).toBeGreaterThan(1_300);
    expect(perDevice).toBeLessThan(1_800);
    all.close();
    await expect(RegistryPskKeys.load(store, { maxBytes: all.bytes - 1, pageSize: 7 })).rejects.toMatchObject(
      {
        name: 'PskKeysFullError',
        code: 'ERR_PSK_KEYS_FULL',
      },
    );
  });

  it("answers only inside the device's validity window and before the credential's revocation time", async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const store = new MemoryRegistry({ now: () => new Date(now) });
    const at = (iso: string) => new Date(iso);
    await store.createDevice({ id: 'w', notBefore: at('2030-01-02'), expiresAt: at('2030-01-10') }, context);
    const credential = await store.addCredential(
      'w',
      { kind: 'psk', identity: 'iw', key: generatePskKey() },
      context,
    );
    const keys = await RegistryPskKeys.load(store, { now: () => now });
    expect(keys.get('iw')).toBeUndefined();
    now = Date.parse('2030-01-03T00:00:00Z');
    expect(keys.get('iw')).toBeDefined();
    // Revoked with an overlap window: works until then.
    await store.revokeCredential('w', credential.id, context, at('2030-01-04'));
    await expect.poll(() => keys.get('iw') !== undefined).toBe(true);
    const outcome = await createRegistryPskAuthenticator(keys).authenticate({
      clientId: 'w',
      transport: { tls: true, pskIdentity: 'iw' },
    });
    expect(outcome).toMatchObject({ outcome: 'allow', principal: { expiresAt: Date.parse('2030-01-04') } });
    now = Date.parse('2030-01-05T00:00:00Z');
    expect(keys.get('iw')).toBeUndefined();
    keys.close();
  });

  it('leaves out (and logs) a device that no longer fits; the table never grows past maxBytes', async () => {
    const store = await fleet(3);
    const probe = await RegistryPskKeys.load(store);
    const maxBytes = probe.bytes + 100;
    probe.close();
    const keys = await RegistryPskKeys.load(store, { maxBytes, logger });
    const key = generatePskKey();
    await store.createDevice({ id: 'd-new' }, context);
    await store.addCredential('d-new', { kind: 'psk', identity: 'i-new', key }, context);
    await delay(50);
    expect(keys.get('i-new')).toBeUndefined();
    expect(keys.bytes).toBeLessThanOrEqual(maxBytes);
    expect(logged).toContainEqual(expect.objectContaining({ code: 'ERR_PSK_KEYS_FULL', deviceId: 'd-new' }));
    // No key in any log line.
    expect(JSON.stringify(logged)).not.toContain(hex(key));
    // Room made by a revocation lets it in.
    await store.revokeAllCredentials('d0', context);
    await store.updateDevice('d-new', { attributes: {} }, context);
    await expect.poll(() => keys.get('i-new') !== undefined).toBe(true);
    keys.close();
  });

  it('keeps a changed device out while the store cannot re-read it, and drops everything on a failed resync', async () => {
    const store = await fleet(2);
    const flaky = flakyRegistry(store);
    const keys = await RegistryPskKeys.load(flaky.registry, { logger, retryMs: 50 });
    expect(keys.get('i0')).toBeDefined();
    flaky.setDown(true);
    await store.updateDevice('d0', { attributes: { x: '1' } }, context);
    expect(keys.get('i0')).toBeUndefined();
    expect(keys.get('i1')).toBeDefined();
    flaky.resync();
    await expect.poll(() => keys.get('i1')).toBeUndefined();
    flaky.setDown(false);
    // Retried without another change: both come back.
    await expect.poll(() => keys.get('i0') !== undefined && keys.get('i1') !== undefined).toBe(true);
    keys.close();
  });

  it('reloads on resync: a change it did not hear is applied', async () => {
    const store = await fleet(2);
    const flaky = flakyRegistry(store);
    const keys = await RegistryPskKeys.load(flaky.registry);
    flaky.setDeaf(true);
    await store.revokeAllCredentials('d1', context);
    await store.createDevice({ id: 'd2' }, context);
    await store.addCredential('d2', { kind: 'psk', identity: 'i2', key: generatePskKey() }, context);
    expect(keys.get('i1')).toBeDefined();
    flaky.setDeaf(false);
    flaky.resync();
    await expect.poll(() => keys.get('i1') === undefined && keys.get('i2') !== undefined).toBe(true);
    expect(keys.get('i0')).toBeDefined();
    keys.close();
  });
});

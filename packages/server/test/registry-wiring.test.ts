import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnavailableError } from '@mqtt-warden/core';
import { hashPassword } from '@mqtt-warden/password';
import { createSasToken } from '@mqtt-warden/psk';
import { MemoryRegistry, type RegistryStore, type SessionRecord } from '@mqtt-warden/registry';
import { createWardenServer, parseServerConfig, type WardenServer } from '@mqtt-warden/server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { certPem, makePki } from './pki.js';

const ctx = { actor: 'test:wiring' };
const POLICY = `version: 1
roles:
  device:
    clientIds: \${principal}
    rules:
      - { effect: allow, actions: [publish, subscribe], topics: "devices/\${clientid}/#" }
  beacon:
    rules:
      - { effect: allow, actions: [publish], topics: "beacons/#" }
`;

const PASSWORD = `  - type: password
    file: users.yaml
`;

let dir: string;
let passwordHash: string;
let fileHash: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warden-registry-wiring-'));
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  makePki(dir);
  passwordHash = await hashPassword('device-secret');
  fileHash = await hashPassword('file-secret');
  writeFileSync(join(dir, 'users.yaml'), `users:\n  shared-name: { hash: "${fileHash}", roles: [device] }\n`);
});

function config(extra = '', chain = PASSWORD) {
  return parseServerConfig(
    `listen: { host: 127.0.0.1, port: 0 }
log: { level: silent }
policy: { file: policy.yaml, watch: false }
authenticators:
${chain}${extra}`,
    { file: join(dir, 'warden.yaml') },
  );
}

async function login(
  server: WardenServer,
  username: string | undefined,
  password: string | undefined,
  clientid = username ?? '',
  extra: Record<string, string> = {},
) {
  const reply = await server.app.inject({
    method: 'POST',
    url: '/emqx/authn',
    payload: {
      clientid,
      ...(username === undefined ? {} : { username }),
      ...(password === undefined ? {} : { password }),
      ...extra,
    },
  });
  return reply.json().result as string;
}

async function authz(server: WardenServer, username: string, topic: string, clientid = username) {
  const reply = await server.app.inject({
    method: 'POST',
    url: '/emqx/authz',
    payload: { username, clientid, topic, action: 'publish' },
  });
  return reply.json().result as string;
}

async function addDevice(
  store: RegistryStore,
  id: string,
  extra: { roles?: string[]; username?: string } = {},
) {
  await store.createDevice({ id, roles: ['device'], ...extra }, ctx);
  return store.addCredential(id, { kind: 'password', hash: passwordHash }, ctx);
}

describe('the password authenticator on the registry', () => {
  let store: MemoryRegistry;
  let server: WardenServer;
  beforeAll(async () => {
    store = new MemoryRegistry();
    server = await createWardenServer(await config(), { registry: store });
  });
  afterAll(async () => {
    await server.close();
    await store.close();
  });

  it('logs a registered device in as itself, and refuses a wrong password, another client id and an unknown name', async () => {
    await addDevice(store, 'sensor-1');
    expect(await login(server, 'sensor-1', 'device-secret')).toBe('allow');
    expect(await authz(server, 'sensor-1', 'devices/sensor-1/t')).toBe('allow');
    expect(await login(server, 'sensor-1', 'wrong')).toBe('deny');
    expect(await login(server, 'sensor-1', 'device-secret', 'someone-else')).toBe('deny');
    expect(await login(server, 'nobody', 'device-secret')).toBe('deny');
  });

  it('refuses a name no device can have as unknown, and keeps serving everyone else', async () => {
    await addDevice(store, 'steady-1');
    for (const name of ['nul\u0000name', 'x'.repeat(2_000), 'x'.repeat(100_000)]) {
      expect(await login(server, name, 'device-secret', 'c')).not.toBe('allow');
    }
    expect(await login(server, 'steady-1', 'device-secret')).toBe('allow');
    expect((await server.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });

  it('finds a device created a moment after it was refused (no cached "not found")', async () => {
    expect(await login(server, 'late-1', 'device-secret')).toBe('deny');
    await addDevice(store, 'late-1');
    expect(await login(server, 'late-1', 'device-secret')).toBe('allow');
  });

  it('ends a disabled device: its login and its session are refused at once, and come back when enabled', async () => {
    await addDevice(store, 'sensor-2');
    expect(await login(server, 'sensor-2', 'device-secret')).toBe('allow');
    expect(await authz(server, 'sensor-2', 'devices/sensor-2/t')).toBe('allow');
    await store.updateDevice('sensor-2', { enabled: false }, ctx);
    expect(await authz(server, 'sensor-2', 'devices/sensor-2/t')).toBe('deny');
    expect(await login(server, 'sensor-2', 'device-secret')).toBe('deny');
    await store.updateDevice('sensor-2', { enabled: true }, ctx);
    expect(await login(server, 'sensor-2', 'device-secret')).toBe('allow');
  });

  it('drops cached decisions, denials and allows, when a device changes', async () => {
    await addDevice(store, 'beacon-1');
    expect(await login(server, 'beacon-1', 'device-secret')).toBe('allow');
    expect(await authz(server, 'beacon-1', 'beacons/1')).toBe('deny');
    expect(await authz(server, 'beacon-1', 'beacons/1')).toBe('deny');
    await store.updateDevice('beacon-1', { roles: ['device', 'beacon'] }, ctx);
    expect(await authz(server, 'beacon-1', 'beacons/1')).toBe('allow');
    await store.updateDevice('beacon-1', { roles: ['device'] }, ctx);
    expect(await authz(server, 'beacon-1', 'beacons/1')).toBe('deny');
  });

  it('revoking the credentials refuses the login and the session', async () => {
    await addDevice(store, 'sensor-3');
    expect(await login(server, 'sensor-3', 'device-secret')).toBe('allow');
    await store.revokeAllCredentials('sensor-3', ctx);
    expect(await authz(server, 'sensor-3', 'devices/sensor-3/t')).toBe('deny');
    expect(await login(server, 'sensor-3', 'device-secret')).toBe('deny');
  });

  it('accepts both passwords of an overlapping rotation, then only the new one', async () => {
    const old = await addDevice(store, 'sensor-4');
    await store.addCredential('sensor-4', { kind: 'password', hash: await hashPassword('new-secret') }, ctx);
    expect(await login(server, 'sensor-4', 'device-secret')).toBe('allow');
    expect(await login(server, 'sensor-4', 'new-secret')).toBe('allow');
    await store.revokeCredential('sensor-4', old.id, ctx);
    expect(await login(server, 'sensor-4', 'device-secret')).toBe('deny');
    expect(await login(server, 'sensor-4', 'new-secret')).toBe('allow');
  });

  it("keeps a file user's name: a device registered under it does not take it over", async () => {
    await addDevice(store, 'shared-name');
    expect(await login(server, 'shared-name', 'device-secret')).toBe('deny');
    expect(await login(server, 'shared-name', 'file-secret')).toBe('allow');
  });

  it('records the last use of the credential that proved the login', async () => {
    const credential = await addDevice(store, 'sensor-5');
    expect(await login(server, 'sensor-5', 'device-secret')).toBe('allow');
    await server.close();
    const [listed] = await store.listCredentials('sensor-5');
    expect(listed?.id).toBe(credential.id);
    expect(listed?.lastUsedAt).toBeInstanceOf(Date);
    server = await createWardenServer(await config(), { registry: store });
  });
});

describe('sas-token and x509 on the registry', () => {
  const store = new MemoryRegistry();
  let server: WardenServer;
  beforeAll(async () => {
    server = await createWardenServer(
      // Before the password authenticator, which answers every username and password.
      await config(
        '',
        `  - type: sas-token
  - type: x509
    trustAnchors: [ca.pem]
    registeredOnly: true
${PASSWORD}`,
      ),
      { registry: store },
    );
  });
  afterAll(async () => {
    await server.close();
  });
  const sas = (deviceId: string, key: Uint8Array) =>
    createSasToken({ hostName: 'hub.example', deviceId, key });

  it("verifies a SAS token with a registered device's key, until the device is disabled", async () => {
    const key = randomBytes(32);
    await store.createDevice({ id: 'sas-1', roles: ['device'] }, ctx);
    await store.addCredential('sas-1', { kind: 'sas', key }, ctx);
    expect(await login(server, 'sas-1', sas('sas-1', key))).toBe('allow');
    expect(await authz(server, 'sas-1', 'devices/sas-1/t')).toBe('allow');
    expect(await login(server, 'sas-1', sas('sas-1', randomBytes(32)))).toBe('deny');
    await store.updateDevice('sas-1', { enabled: false }, ctx);
    expect(await login(server, 'sas-1', sas('sas-1', key))).toBe('deny');
    expect(await authz(server, 'sas-1', 'devices/sas-1/t')).toBe('deny');
  });

  it('refuses a SAS device whose key was revoked', async () => {
    const key = randomBytes(32);
    await store.createDevice({ id: 'sas-2', roles: ['device'] }, ctx);
    const credential = await store.addCredential('sas-2', { kind: 'sas', key }, ctx);
    expect(await login(server, 'sas-2', sas('sas-2', key))).toBe('allow');
    await store.revokeCredential('sas-2', credential.id, ctx);
    expect(await login(server, 'sas-2', sas('sas-2', key))).toBe('deny');
  });

  it('logs a certificate bound to a device in as the device, and refuses it once the binding is revoked', async () => {
    const der = Buffer.from(certPem(dir, 'dev-x'), 'base64');
    const fingerprint = createHash('sha256').update(der).digest('hex').toUpperCase();
    const cert = { cert_pem: certPem(dir, 'dev-x') };
    expect(await login(server, undefined, undefined, 'cert-1', cert)).toBe('deny');
    await store.createDevice({ id: 'cert-1', roles: ['device'] }, ctx);
    const binding = await store.addCredential('cert-1', { kind: 'x509', fingerprint }, ctx);
    expect(await login(server, undefined, undefined, 'cert-1', cert)).toBe('allow');
    expect(await authz(server, '', 'devices/cert-1/t', 'cert-1')).toBe('allow');
    expect(await login(server, undefined, undefined, 'another-id', cert)).toBe('deny');
    expect(await login(server, 'someone-else', undefined, 'cert-1', cert)).toBe('deny');
    await store.revokeCredential('cert-1', binding.id, ctx);
    expect(await login(server, undefined, undefined, 'cert-1', cert)).toBe('deny');
  });
});

describe('replicas sharing one registry', () => {
  const store = new MemoryRegistry();
  let a: WardenServer;
  let b: WardenServer;
  beforeAll(async () => {
    a = await createWardenServer(await config(), { registry: store });
    b = await createWardenServer(await config(), { registry: store });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('answers on B for a session A authenticated, and after A restarts', async () => {
    await addDevice(store, 'roamer');
    expect(await login(a, 'roamer', 'device-secret')).toBe('allow');
    expect(await authz(b, 'roamer', 'devices/roamer/t')).toBe('allow');
    expect(await authz(b, 'roamer', 'devices/other/t')).toBe('deny');
    await a.close();
    a = await createWardenServer(await config(), { registry: store });
    expect(await authz(a, 'roamer', 'devices/roamer/t')).toBe('allow');
  });

  it('refuses on B, which had cached an allow, once the device is disabled', async () => {
    expect(await authz(b, 'roamer', 'devices/roamer/t')).toBe('allow');
    await store.updateDevice('roamer', { enabled: false }, ctx);
    expect(await authz(b, 'roamer', 'devices/roamer/t')).toBe('deny');
    expect(await authz(a, 'roamer', 'devices/roamer/t')).toBe('deny');
  });

  it("rebuilds a forgotten session from the device only for one of the device's client ids", async () => {
    // Every authenticator proves usernames here, so a username names its device (as for file users)…
    await addDevice(store, 'never-logged-in');
    expect(await authz(b, 'never-logged-in', 'devices/never-logged-in/t')).toBe('allow');
    // …but not under a client id the device may not use, even where the policy would allow the topic.
    expect(await authz(b, 'never-logged-in', 'devices/intruder/t', 'intruder')).toBe('deny');
  });

  it("refuses a registry device's device token once the device is disabled, on every replica", async () => {
    const tokens = 'deviceTokens: { enabled: true }\n';
    const c = await createWardenServer(await config(tokens), { registry: store });
    const d = await createWardenServer(await config(tokens), { registry: store });
    try {
      await addDevice(store, 'token-1');
      const reply = await c.app.inject({
        method: 'POST',
        url: '/token',
        headers: { authorization: `Basic ${Buffer.from('token-1:device-secret').toString('base64')}` },
        payload: { client_id: 'token-1' },
      });
      const token = reply.json().access_token as string;
      expect(token).toMatch(/^eyJ/);
      expect(await login(d, 'token-1', token)).toBe('allow');
      await store.updateDevice('token-1', { enabled: false }, ctx);
      expect(await login(d, 'token-1', token)).toBe('deny');
      expect(await login(c, 'token-1', token)).toBe('deny');
    } finally {
      await c.close();
      await d.close();
    }
  });

  it('signs device tokens with one shared key that every replica publishes', async () => {
    const tokens = 'deviceTokens: { enabled: true }\n';
    const c = await createWardenServer(await config(tokens), { registry: store });
    const d = await createWardenServer(await config(tokens), { registry: store });
    try {
      const keys = await store.listSigningKeys();
      expect(keys).toHaveLength(1);
      const jwks = async (server: WardenServer) =>
        (await server.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json().keys;
      expect(await jwks(c)).toEqual(await jwks(d));
      expect((await jwks(c))[0].kid).toBe(keys[0]?.kid);
    } finally {
      await c.close();
      await d.close();
    }
  });
});

/** A registry that can be made to fail like an unreachable PostgreSQL, or to hang like a stuck one. */
function failing(store: RegistryStore): {
  store: RegistryStore;
  down: (value: boolean | 'hang') => void;
} {
  let mode: boolean | 'hang' = false;
  const proxy = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (mode !== false && property !== 'onChange' && property !== 'close') {
          if (mode === 'hang') return new Promise(() => {});
          if (property === 'ping') return Promise.resolve(false);
          return Promise.reject(new UnavailableError('registry down (test)'));
        }
        return value.apply(target, args);
      };
    },
  });
  return { store: proxy, down: (value) => (mode = value) };
}

/** Counts the session writes that reach the registry. */
class CountingRegistry extends MemoryRegistry {
  sessionWrites = 0;
  override async putSession(record: SessionRecord): Promise<void> {
    this.sessionWrites++;
    return super.putSession(record);
  }
}

describe('a reconnect storm on shared sessions', () => {
  const store = new CountingRegistry();
  let a: WardenServer;
  let b: WardenServer;
  beforeAll(async () => {
    a = await createWardenServer(await config(), { registry: store });
    b = await createWardenServer(await config(), { registry: store });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('writes the session of a repeated login once, and B still answers for the session A authenticated', async () => {
    await addDevice(store, 'stormy');
    for (let i = 0; i < 5; i++) expect(await login(a, 'stormy', 'device-secret')).toBe('allow');
    expect(store.sessionWrites).toBe(1);
    expect(await authz(b, 'stormy', 'devices/stormy/t')).toBe('allow');
    expect(await authz(b, 'stormy', 'devices/other/t')).toBe('deny');
  });

  it('writes again after the device was deleted with its sessions and registered anew, so B still answers', async () => {
    await store.deleteDevice('stormy', ctx);
    expect(await store.getSession('stormy', 'stormy')).toBeUndefined();
    await addDevice(store, 'stormy');
    const writes = store.sessionWrites;
    expect(await login(a, 'stormy', 'device-secret')).toBe('allow');
    expect(store.sessionWrites).toBe(writes + 1);
    expect(await authz(b, 'stormy', 'devices/stormy/t')).toBe('allow');
  });

  it('writes a changed principal at once: B answers with the new roles', async () => {
    await store.updateDevice('stormy', { roles: ['beacon'] }, ctx);
    const writes = store.sessionWrites;
    expect(await login(a, 'stormy', 'device-secret')).toBe('allow');
    expect(store.sessionWrites).toBe(writes + 1);
    expect(await authz(b, 'stormy', 'beacons/1')).toBe('allow');
    expect(await authz(b, 'stormy', 'devices/stormy/t')).toBe('deny');
  });
});

describe('when the registry does not answer', () => {
  const memory = new MemoryRegistry();
  const { store, down } = failing(memory);
  let server: WardenServer;
  afterEach(async () => {
    down(false);
    await server?.close();
  });
  const ready = async () => (await server.app.inject({ method: 'GET', url: '/readyz' })).statusCode;
  const until = async (check: () => Promise<boolean>) => {
    for (let i = 0; i < 50 && !(await check()); i++) await new Promise((r) => setTimeout(r, 100));
  };

  it('allows nobody new, says not ready, and recovers without a restart', async () => {
    server = await createWardenServer(await config(), { registry: store });
    await addDevice(memory, 'cached-1');
    expect(await login(server, 'cached-1', 'device-secret')).toBe('allow');
    down(true);
    await addDevice(memory, 'new-1');
    expect(await login(server, 'new-1', 'device-secret')).not.toBe('allow');
    // With no grace period, a device verified a moment ago is not let in from a cache either.
    expect(await login(server, 'cached-1', 'device-secret')).not.toBe('allow');
    await until(async () => (await ready()) === 503);
    expect(await ready()).toBe(503);
    down(false);
    await until(async () => (await ready()) === 200);
    expect(await ready()).toBe(200);
    expect(await login(server, 'new-1', 'device-secret')).toBe('allow');
  });

  it('answers a login within the lookup bound, never allow, while the store hangs', async () => {
    server = await createWardenServer(await config(), { registry: store });
    await addDevice(memory, 'stuck-1');
    down('hang');
    const start = performance.now();
    expect(await login(server, 'stuck-1', 'device-secret')).not.toBe('allow');
    const ms = performance.now() - start;
    // The 3 s bound, plus room for a loaded machine: a broker (EMQX waits 5 s) still hears the answer.
    expect(ms).toBeLessThan(5_000);
    await until(async () => (await ready()) === 503);
    expect(await ready()).toBe(503);
  });

  it('with graceSeconds, lets a device verified within the grace period in, and nobody else', async () => {
    server = await createWardenServer(
      await config('store: { postgres: { url: "postgres://unused" }, graceSeconds: 60 }\n'),
      {
        registry: store,
      },
    );
    await addDevice(memory, 'graced-1');
    expect(await login(server, 'graced-1', 'device-secret')).toBe('allow');
    down(true);
    await addDevice(memory, 'new-2');
    expect(await login(server, 'graced-1', 'device-secret')).toBe('allow');
    expect(await login(server, 'graced-1', 'wrong')).toBe('deny');
    expect(await login(server, 'new-2', 'device-secret')).not.toBe('allow');
  });
});

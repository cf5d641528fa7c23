/**
 * Three real `mqtt-warden serve` processes on one PostgreSQL schema, reached through a TCP proxy the
 * test can cut. The test writes to the store directly (its own connection, not through the proxy);
 * replicas-admin.test.ts makes the same changes through the replicas' admin API.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '@mqtt-warden/password';
import { createPostgresRegistry, type RegistryStore } from '@mqtt-warden/registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePki } from './pki.js';
import {
  authz,
  DATABASE,
  dropSchema,
  login as emqxLogin,
  type Replica,
  startReplica as startServe,
  stopReplica,
  until,
} from './replica-processes.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

const SCHEMA = `reg_wire_${randomBytes(4).toString('hex')}`;
const KEY = randomBytes(32).toString('base64');
const ctx = { actor: 'test:replicas' };
const POLICY = `version: 1
roles:
  device:
    clientIds: \${principal}
    rules:
      - { effect: allow, actions: [publish, subscribe], topics: "devices/\${clientid}/#" }
`;

let dir: string;
let proxy: TcpProxy;
let store: RegistryStore;
let hash: string;
const replicas: Replica[] = [];

const startReplica = (name: string) => startServe(name, join(dir, 'warden.yaml'));
const login = (replica: Replica, id: string, password = 'device-secret') => emqxLogin(replica, id, password);
const ready = async (replica: Replica) =>
  (await fetch(`${replica.url}/readyz`, { signal: AbortSignal.timeout(10_000) })).status;

async function addDevice(id: string) {
  await store.createDevice({ id, roles: ['device'] }, ctx);
  await store.addCredential(id, { kind: 'password', hash }, ctx);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warden-replicas-'));
  hash = await hashPassword('device-secret');
  proxy = await startTcpProxy(5432);
  store = await createPostgresRegistry({
    url: DATABASE,
    schema: SCHEMA,
    encryptionKeys: [KEY],
    migrate: true,
  });
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  makePki(dir);
  writeFileSync(
    join(dir, 'warden.yaml'),
    `listen: { host: 127.0.0.1, port: 0 }
log: { level: warn }
policy: { file: policy.yaml, watch: false }
store:
  postgres:
    url: postgres://postgres@127.0.0.1:${proxy.port}/test
    schema: ${SCHEMA}
    statementTimeoutMs: 2000
  encryptionKey: "${KEY}"
deviceTokens: { enabled: true }
authenticators:
  # A certificate proves no username here, so a forgotten session is never rebuilt from a name: a
  # replica answers another's session only through the shared session store.
  - type: x509
    trustAnchors: [ca.pem]
  - type: password
`,
  );
  for (const name of ['A', 'B', 'C']) replicas.push(await startReplica(name));
}, 180_000);

afterAll(async () => {
  await Promise.all(replicas.map(stopReplica));
  await store?.close();
  await proxy?.close();
  dropSchema(SCHEMA);
}, 60_000);

describe('three replicas on one PostgreSQL schema', () => {
  it('a device added through the store authenticates through B at once, and its session is answered by C', async () => {
    const [, b, c] = replicas as [Replica, Replica, Replica];
    await addDevice('fresh-1');
    expect(await login(b, 'fresh-1')).toBe('allow');
    expect(await authz(c, 'fresh-1')).toBe('allow');
  });

  it('a device registered a moment after B refused it is let in by B within a second', async () => {
    const [, b] = replicas as [Replica, Replica];
    expect(await login(b, 'late-1')).toBe('deny');
    await addDevice('late-1');
    const ms = await until(async () => (await login(b, 'late-1')) === 'allow', 5_000);
    console.log(`refused-then-registered: allowed by B after ${ms.toFixed(1)} ms`);
    expect(ms).toBeLessThan(1_000);
  });

  it('disabled in the store, it is refused by A and B within a second, where B had cached an allow', async () => {
    const [a, b] = replicas as [Replica, Replica];
    await addDevice('victim-1');
    expect(await login(a, 'victim-1')).toBe('allow');
    // B answers the session A authenticated, twice: the second answer comes from B's caches.
    expect(await authz(b, 'victim-1')).toBe('allow');
    expect(await authz(b, 'victim-1')).toBe('allow');
    const start = performance.now();
    await store.updateDevice('victim-1', { enabled: false }, ctx);
    const committed = performance.now() - start;
    const [onA, onB] = await Promise.all([
      until(async () => (await authz(a, 'victim-1')) === 'deny', 5_000),
      until(async () => (await authz(b, 'victim-1')) === 'deny', 5_000),
    ]);
    console.log(
      `disable → refused (after commit, ${committed.toFixed(1)} ms): A ${onA.toFixed(1)} ms, B ${onB.toFixed(1)} ms`,
    );
    expect(onA).toBeLessThan(1_000);
    expect(onB).toBeLessThan(1_000);
    expect(await login(b, 'victim-1')).toBe('deny');
    expect(await login(a, 'victim-1')).toBe('deny');
  });

  it('a device token issued by A is accepted by C (one signing key, shared through the store)', async () => {
    const [a, , c] = replicas as [Replica, Replica, Replica];
    await addDevice('token-1');
    const response = await fetch(`${a.url}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('token-1:device-secret').toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ client_id: 'token-1' }),
    });
    const { access_token: token } = (await response.json()) as { access_token: string };
    expect(token).toMatch(/^eyJ/);
    expect(await login(c, 'token-1', token)).toBe('allow');
    expect(await store.listSigningKeys()).toHaveLength(1);
  });

  it('a restarted replica loses no session', async () => {
    const [a, b] = replicas as [Replica, Replica];
    await addDevice('restart-1');
    expect(await login(b, 'restart-1')).toBe('allow');
    await stopReplica(a);
    const restarted = await startReplica('A');
    replicas[0] = restarted;
    expect(await authz(restarted, 'restart-1')).toBe('allow');
  });

  it('PostgreSQL cut mid-traffic: zero allows for new logins, not ready; restored: service recovers', async () => {
    await addDevice('before-cut');
    for (const replica of replicas) expect(await login(replica, 'before-cut')).toBe('allow');
    let stop = false;
    const answers: string[] = [];
    // Traffic throughout: logins of a device all replicas know.
    const traffic = (async () => {
      while (!stop) {
        for (const replica of replicas) answers.push(await login(replica, 'before-cut'));
      }
    })();
    proxy.cut();
    // Registered while the replicas cannot reach PostgreSQL (the test's own connection can).
    await addDevice('during-cut');
    const newLogins: string[] = [];
    for (const replica of replicas) newLogins.push(await login(replica, 'during-cut'));
    for (const replica of replicas) {
      await until(async () => (await ready(replica)) === 503, 10_000);
    }
    // From here every replica knows the store is gone (one round of traffic may still be in flight).
    const notReadyAt = answers.length + replicas.length;
    for (let round = 0; round < 3; round++) {
      for (const replica of replicas) newLogins.push(await login(replica, 'during-cut'));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const duringCut = answers.slice(notReadyAt);
    expect(newLogins.filter((answer) => answer === 'allow')).toEqual([]);
    expect(duringCut.length).toBeGreaterThan(0);
    // No grace period configured: once a replica saw the store gone, its caches let nobody in.
    expect(duringCut.filter((answer) => answer === 'allow')).toEqual([]);
    proxy.restore();
    for (const replica of replicas) {
      const ms = await until(async () => (await ready(replica)) === 200, 30_000);
      console.log(`${replica.name} ready again ${ms.toFixed(0)} ms after the proxy was restored`);
      await until(async () => (await login(replica, 'during-cut')) === 'allow', 10_000);
    }
    stop = true;
    await traffic;
  }, 120_000);
});

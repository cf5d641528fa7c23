/**
 * Three real `mqtt-warden serve` processes on one PostgreSQL schema, each with its own admin listener,
 * changed only through the `mqtt-warden device` command against one replica's admin API: what one
 * replica's API writes, the others enforce within a second, including over a cached allow.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AuditRecord, createPostgresRegistry, type RegistryStore } from '@mqtt-warden/registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authz,
  DATABASE,
  dropSchema,
  login,
  type Replica,
  runCli,
  startReplica,
  stopReplica,
  until,
} from './replica-processes.js';

const SCHEMA = `reg_admin_${randomBytes(4).toString('hex')}`;
const POLICY = `version: 1
roles:
  device:
    clientIds: \${principal}
    rules:
      - { effect: allow, actions: [publish, subscribe], topics: "devices/\${clientid}/#" }
`;
/** What an operator sees as "at once" and "within a second" on a loaded 2-core machine. */
const LIMIT_MS = 1_000;

const dir = mkdtempSync(join(tmpdir(), 'warden-replicas-admin-'));
let token = '';
/** The test's own connection, reading only: it sees a write commit. */
let reader: RegistryStore;
const replicas: Replica[] = [];

/** `mqtt-warden device ARGS --url <replica's admin API> --json`, with the token from the environment. */
async function device(replica: Replica, ...args: string[]) {
  const run = await runCli(['device', ...args, '--url', replica.adminUrl ?? '', '--json'], {
    cwd: dir,
    env: { MQTT_WARDEN_ADMIN_TOKEN: token },
  });
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
}

/**
 * Runs a device verb through `replica`'s admin API while polling every check until it holds, and
 * asserts each held within LIMIT_MS of the commit: the moment the write's audit record (written in the
 * same transaction) is visible to the test's own connection. Every check must fail before.
 */
async function expectEnforcedWithinASecond(
  replica: Replica,
  args: string[],
  action: string,
  checks: Record<string, () => Promise<boolean>>,
): Promise<void> {
  for (const [name, check] of Object.entries(checks)) expect(await check(), `${name} before`).toBe(false);
  const after = (await reader.listAuditRecords({ limit: 1000 })).at(-1)?.id ?? 0;
  let written: AuditRecord | undefined;
  const start = performance.now();
  const command = device(replica, ...args).then(() => performance.now() - start);
  const [committedAt, ...heldAt] = await Promise.all([
    until(async () => {
      written = (await reader.listAuditRecords({ after })).find((r) => r.action === action);
      return written?.target === 'meter-1';
    }, 60_000).then(() => Date.now()),
    ...Object.values(checks).map((check) => until(check, 60_000).then(() => Date.now())),
  ]);
  const took = await command;
  const latencies = Object.keys(checks).map((name, i) => [name, heldAt[i]! - committedAt!] as const);
  console.log(
    `${args.join(' ')} through ${replica.name}: committed ${committedAt! - written!.at.getTime()} ms after the write started, ` +
      `the command took ${took.toFixed(0)} ms; refused after the commit: ${latencies.map(([name, ms]) => `${name} ${ms} ms`).join(', ')}`,
  );
  for (const [name, ms] of latencies) expect(ms, name).toBeLessThan(LIMIT_MS);
}

beforeAll(async () => {
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  writeFileSync(
    join(dir, 'warden.yaml'),
    `listen: { host: 127.0.0.1, port: 0 }
log: { level: warn }
policy: { file: policy.yaml, watch: false }
store:
  postgres:
    url: ${DATABASE}
    schema: ${SCHEMA}
    statementTimeoutMs: 2000
    migrateOnStart: true
  encryptionKey: "${randomBytes(32).toString('base64')}"
authenticators:
  - type: password
admin:
  listen: { host: 127.0.0.1, port: 0 } # each replica its own port
# The checks poll one device's login every 5 ms until a change arrives: past 30 attempts in 10 s the
# connect limit per client id refuses it until the window ends, which would time that limit, not the
# change (rate limits: packages/defenses tests, defenses-sharing.test.ts).
defenses: { rateLimits: { enabled: false } }
`,
  );
  // The bootstrap token, made directly against the store before any API exists.
  const created = await runCli(
    ['admin', 'token', 'create', '--scope', 'read', '--scope', 'write', '--config', 'warden.yaml'],
    { cwd: dir },
  );
  expect(created.code, created.stderr).toBe(0);
  token = created.stdout.trim();
  for (const name of ['A', 'B', 'C']) {
    replicas.push(await startReplica(name, join(dir, 'warden.yaml'), { admin: true }));
  }
  reader = await createPostgresRegistry({ url: DATABASE, schema: SCHEMA, poolSize: 2 });
}, 240_000);

afterAll(async () => {
  await Promise.all(replicas.map(stopReplica));
  await reader?.close();
  dropSchema(SCHEMA);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('three replicas changed through their admin APIs', () => {
  let password = '';
  /** A and B refuse the device's login, B the publish of the session it authenticated (a cached allow). */
  const refused = (a: Replica, b: Replica) => ({
    'A login': async () => (await login(a, 'meter-1', password)) === 'deny',
    'B login': async () => (await login(b, 'meter-1', password)) === 'deny',
    'B publish': async () => (await authz(b, 'meter-1')) === 'deny',
  });

  it('a device added through A authenticates through B at once; B then caches an allow', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const added = await device(a, 'add', 'meter-1', '--role', 'device', '--generate-password');
    password = added.password;
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const start = performance.now();
    expect(await login(b, 'meter-1', password)).toBe('allow');
    console.log(
      `added through A: first login through B allowed in ${(performance.now() - start).toFixed(0)} ms`,
    );
    expect(await login(b, 'meter-1', 'not the password')).toBe('deny');
    // The second answer comes from B's decision cache.
    expect(await authz(b, 'meter-1')).toBe('allow');
    expect(await authz(b, 'meter-1')).toBe('allow');
  });

  it('disabled through C: A and B refuse its login and B its publish within a second', async () => {
    const [a, b, c] = replicas as [Replica, Replica, Replica];
    await expectEnforcedWithinASecond(c, ['disable', 'meter-1'], 'device.update', refused(a, b));
  });

  it('re-enabled through A: accepted again by A and B', async () => {
    const [a, b] = replicas as [Replica, Replica];
    expect((await device(a, 'enable', 'meter-1')).enabled).toBe(true);
    await until(async () => (await login(a, 'meter-1', password)) === 'allow', 10_000);
    await until(async () => (await login(b, 'meter-1', password)) === 'allow', 10_000);
    expect(await authz(b, 'meter-1')).toBe('allow');
  });

  it('credentials revoked through C: A and B refuse it within a second', async () => {
    const [a, b, c] = replicas as [Replica, Replica, Replica];
    await expectEnforcedWithinASecond(
      c,
      ['revoke-credentials', 'meter-1'],
      'credential.revoke-all',
      refused(a, b),
    );
  });

  it('the audit trail names the token behind every write and holds no secret', async () => {
    const [, b] = replicas as [Replica, Replica];
    const response = await fetch(`${b.adminUrl}/admin/v1/audit?limit=1000`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    const { records } = (await response.json()) as { records: { actor: string; action: string }[] };
    const tokenId = token.split('_')[1];
    const writes = records.filter((record) => record.action !== 'admin-token.create');
    // add (device, credential), disable, enable, revoke-all: each by this token, whichever replica took it.
    expect(writes.map((record) => record.action)).toEqual([
      'device.create',
      'credential.create',
      'device.update',
      'device.update',
      'credential.revoke-all',
    ]);
    for (const record of writes) expect(record.actor).toBe(`token:${tokenId}`);
    const text = JSON.stringify(records);
    expect(text).not.toContain(password);
    expect(text).not.toContain(token.split('_')[2]);
    expect(text).not.toMatch(/\$argon2/);
  });
});

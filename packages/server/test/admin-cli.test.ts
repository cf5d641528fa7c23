/**
 * The admin API for real: `mqtt-warden serve` on a PostgreSQL store (a schema of its own) with the admin
 * listener, the bootstrap `admin token create` against the store, then the device verbs through the
 * installed command (a symlink to dist/bin.js), as an operator runs them.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DATABASE_URL = process.env.WARDEN_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `adm_cli_${randomBytes(4).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'warden-admin-cli-'));
const bin = join(dir, 'mqtt-warden');
let server: ChildProcess | undefined;
let serverOutput = '';
let adminUrl = '';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function warden(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: dir, env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  symlinkSync(join(ROOT, 'packages/server/dist/bin.js'), bin);
  copyFileSync(join(ROOT, 'examples/quickstart/policy.yaml'), join(dir, 'policy.yaml'));
  copyFileSync(join(ROOT, 'examples/quickstart/users.yaml'), join(dir, 'users.yaml'));
  const adminPort = await freePort();
  writeFileSync(
    join(dir, 'warden.yaml'),
    `listen: { host: 127.0.0.1, port: 0 }
log: { level: info }
policy: { file: policy.yaml }
authenticators:
  - type: password
    file: users.yaml
adapters:
  emqx: {}
store:
  postgres: { url: { env: TEST_DATABASE_URL }, schema: ${schema}, migrateOnStart: true }
  encryptionKey: ${randomBytes(32).toString('base64')}
admin:
  listen: { host: 127.0.0.1, port: ${adminPort} }
`,
  );
  process.env.TEST_DATABASE_URL = DATABASE_URL;
});

afterAll(async () => {
  if (server && server.exitCode === null) server.kill('SIGTERM');
  execFileSync('psql', [DATABASE_URL, '-q', '-c', `DROP SCHEMA IF EXISTS ${schema} CASCADE`], {
    stdio: 'pipe',
  });
  rmSync(dir, { recursive: true, force: true });
});

describe('mqtt-warden serve with the admin API on PostgreSQL, driven by the CLI', () => {
  let token = '';
  let env: Record<string, string> = {};
  let generated = '';

  it('creates the first admin token directly in the store, printing only the token', async () => {
    const created = await warden([
      'admin',
      'token',
      'create',
      '--scope',
      'read',
      '--scope',
      'write',
      '--config',
      'warden.yaml',
    ]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^mwa_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\n$/);
    token = created.stdout.trim();
    const bad = await warden(['admin', 'token', 'create', '--scope', 'root', '--config', 'warden.yaml']);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
  });

  it('serves the admin listener next to the auth listener', async () => {
    server = spawn(process.execPath, [bin, 'serve', '--config', 'warden.yaml'], {
      cwd: dir,
      env: process.env,
    });
    server.stdout!.on('data', (chunk) => {
      serverOutput += chunk;
    });
    server.stderr!.on('data', (chunk) => {
      serverOutput += chunk;
    });
    await expect
      .poll(() => serverOutput, { timeout: 60_000, interval: 200 })
      .toMatch(/admin API on (\S+)\/admin\/v1/);
    adminUrl = /admin API on (\S+)\/admin\/v1/.exec(serverOutput)![1]!;
    env = { MQTT_WARDEN_ADMIN_URL: adminUrl, MQTT_WARDEN_ADMIN_TOKEN: token };
    const document = await fetch(`${adminUrl}/admin/v1/openapi.json`);
    expect(((await document.json()) as { openapi: string }).openapi).toBe('3.1.0');
  });

  it('adds, lists and disables devices through the API', async () => {
    const added = await warden(
      ['device', 'add', 'sensor-1', '--role', 'device', '--generate-password', '--json'],
      env,
    );
    expect(added.code, added.stderr).toBe(0);
    const result = JSON.parse(added.stdout);
    expect(result.device).toMatchObject({
      id: 'sensor-1',
      username: 'sensor-1',
      clientIds: ['sensor-1'],
      roles: ['device'],
    });
    expect(result.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(result.credential).not.toHaveProperty('hash');

    const second = await warden(
      [
        'device',
        'add',
        'pump-7',
        '--username',
        'pump7',
        '--password',
        'a long pass phrase',
        '--client-id',
        'pump-7b',
      ],
      env,
    );
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toBe('added device pump-7 (username pump7, client ids pump-7b)\n');
    expect(second.stdout).not.toContain('a long pass phrase');

    generated = result.password;
    const usage = await warden(['device', 'list'], {
      MQTT_WARDEN_ADMIN_URL: '',
      MQTT_WARDEN_ADMIN_TOKEN: '',
    });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/give the admin API address: --url URL or MQTT_WARDEN_ADMIN_URL/);
    const weak = await warden(['device', 'add', 'weak-1', '--password', 'short'], env);
    expect(weak.code).toBe(1);
    expect(weak.stderr).toMatch(/at least 12 characters.*\(ERR_INVALID_INPUT\)/);
    const duplicate = await warden(['device', 'add', 'sensor-1'], env);
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toMatch(/ERR_REGISTRY_EXISTS/);

    const disabled = await warden(['device', 'disable', 'sensor-1'], env);
    expect(disabled).toMatchObject({ code: 0, stdout: 'sensor-1: disabled\n' });
    const list = await warden(['device', 'list', '--json'], env);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).map((d: { id: string; enabled: boolean }) => [d.id, d.enabled])).toEqual([
      ['pump-7', true],
      ['sensor-1', false],
    ]);
    expect((await warden(['device', 'enable', 'sensor-1'], env)).stdout).toBe('sensor-1: enabled\n');
    const revoked = await warden(['device', 'revoke-credentials', 'sensor-1'], env);
    expect(revoked.stdout).toBe('sensor-1: 1 credential(s) revoked\n');
  });

  it('imports a file, reporting refused rows and exiting 1', async () => {
    writeFileSync(
      join(dir, 'fleet.csv'),
      `id,roles\n${Array.from({ length: 500 }, (_, i) => `bulk-${i},device`).join('\n')}\nbad id,device\n`,
    );
    const imported = await warden(['device', 'import', 'fleet.csv'], env);
    expect(imported.code).toBe(1);
    expect(imported.stdout).toMatch(/^500 created, 0 updated, 1 refused\nfleet\.csv:502: /);
    expect(imported.stderr).toMatch(/sent 0\.0 of 0\.0 MiB \(100%\)/);
  });

  it('refuses a wrong token, and a revoked one at once', async () => {
    const wrong = await warden(['device', 'list'], {
      ...env,
      MQTT_WARDEN_ADMIN_TOKEN: `${token.slice(0, -1)}x`,
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/ERR_ADMIN_UNAUTHENTICATED/);
    const listed = await warden(['admin', 'token', 'list', '--json', '--config', 'warden.yaml']);
    const [entry] = JSON.parse(listed.stdout);
    expect(entry).not.toHaveProperty('secretHash');
    expect(token).toContain(entry.id);
    expect((await warden(['admin', 'token', 'revoke', entry.id, '--config', 'warden.yaml'])).code).toBe(0);
    const after = await warden(['device', 'list'], env);
    expect(after.code).toBe(1);
    expect(after.stderr).toMatch(/ERR_ADMIN_UNAUTHENTICATED/);
  });

  it('stops cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => server!.on('exit', resolve));
    server!.kill('SIGTERM');
    expect(await exited, serverOutput).toBe(0);
    // The server logged every request (level info) but never the token or a password.
    expect(serverOutput).toMatch(/"url":"\/admin\/v1\/devices"/);
    expect(serverOutput).not.toContain(token.split('_')[2]!);
    expect(serverOutput).not.toContain(generated);
    expect(serverOutput).not.toContain('a long pass phrase');
  });
});

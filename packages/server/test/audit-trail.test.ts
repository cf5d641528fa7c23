import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { epoch, signJwt } from './tokens.js';

// A real `mqtt-warden serve` with a file sink: EMQX-style logins and authorization requests, some
// refused by a written rule, then the trail is read back (and through `mqtt-warden audit tail`).

const CLI = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const QUICKSTART = fileURLToPath(new URL('../../../examples/quickstart/', import.meta.url));
const JWT_SECRET = randomBytes(32).toString('hex');
const TICKET_KEY = randomBytes(32).toString('hex');
const POLICY = `version: 1
users:
  demo: [device]
  sensor-1: [device]
roles:
  device:
    clientIds: \${principal}
    rules:
      - name: no-admin
        effect: deny
        actions: [publish]
        topics: devices/\${clientid}/admin/#
      - name: own-tree
        effect: allow
        actions: [publish, subscribe, receive]
        topics: devices/\${clientid}/#
`;
const RULE_LINE = POLICY.split('\n').findIndex((line) => line.includes('name: no-admin')) + 1;

const jwt = (sub: string, secret = JWT_SECRET) =>
  signJwt({ iss: 'https://idp.example', aud: 'mqtt', sub, roles: ['device'], exp: epoch(600) }, secret);

let dir: string;
let server: ChildProcess;
let base: string;
const secrets: string[] = [];

async function post(path: string, body: Record<string, string>) {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return response.json() as Promise<{ result: string; client_attrs?: Record<string, string> }>;
}

async function login(username: string, password: string, clientid: string, peerhost: string) {
  secrets.push(password);
  return post('/emqx/authn', { username, password, clientid, peerhost });
}

async function publish(username: string, clientid: string, topic: string, attrs: Record<string, string>) {
  const carried = Object.fromEntries(Object.entries(attrs).map(([k, v]) => [`client_attrs.${k}`, v]));
  return (await post('/emqx/authz', { username, clientid, topic, action: 'publish', ...carried })).result;
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const trail = () =>
  readFileSync(join(dir, 'audit.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warden-audit-'));
  copyFileSync(join(QUICKSTART, 'users.yaml'), join(dir, 'users.yaml'));
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  writeFileSync(
    join(dir, 'warden.yaml'),
    `listen: { host: 127.0.0.1, port: 0 }
log: { level: warn }
policy: { file: policy.yaml, watch: false }
sessions: { ticket: { key: "${TICKET_KEY}" } }
authenticators:
  - type: jwt
    keys: { secret: "${JWT_SECRET}" }
    algorithms: [HS256]
    issuer: https://idp.example
    audience: mqtt
    claims: { roles: roles }
  - type: password
    file: users.yaml
audit:
  sampleAllows: 1
  sinks:
    - file: { path: audit.jsonl }
`,
  );
  server = spawn(process.execPath, [CLI, 'serve', '--config', join(dir, 'warden.yaml')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  base = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (chunk) => {
      out += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    server.stderr!.on('data', (chunk) => process.stderr.write(chunk));
    server.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
  });
});

afterAll(async () => {
  if (server.exitCode === null) {
    const exited = new Promise((r) => server.once('exit', r));
    process.kill(server.pid!, 'SIGTERM');
    await exited;
  }
});

describe('audit trail of mqtt-warden serve', () => {
  let ticket: Record<string, string>;

  it('records every refusal with its rule, and no password, token or ticket', async () => {
    expect((await login('demo', 'wrong-password-4711', 'demo', '198.51.100.7')).result).toBe('deny');
    expect((await login('demo', 'wrong-password-4712', 'demo', '198.51.100.7')).result).toBe('deny');
    const ok = await login('demo', 'demo-password', 'demo', '192.0.2.10');
    expect(ok.result).toBe('allow');
    ticket = ok.client_attrs ?? {};
    expect(Object.keys(ticket)).toContain('warden_session');
    secrets.push(...Object.values(ticket));
    // Client id bound to another principal: refused by the policy's binding.
    expect((await login('demo', 'demo-password', 'sensor-1', '192.0.2.10')).result).toBe('deny');
    expect((await login('dev-jwt', jwt('dev-jwt'), 'dev-jwt', '192.0.2.20')).result).toBe('allow');
    expect((await login('dev-jwt', jwt('dev-jwt', 'x'.repeat(64)), 'dev-jwt', '192.0.2.20')).result).toBe(
      'deny',
    );
    expect(await publish('demo', 'demo', 'devices/demo/admin/reboot', ticket)).toBe('deny');
    expect(await publish('demo', 'demo', 'devices/sensor-1/temp', ticket)).toBe('deny');
    expect(await publish('demo', 'demo', 'devices/demo/temp', ticket)).toBe('allow');
    // A session that never logged in here: refused before the policy, and recorded.
    expect(await publish('ghost', 'ghost', 'devices/ghost/temp', {})).not.toBe('allow');

    await expect.poll(() => trail().length, { timeout: 15_000 }).toBeGreaterThanOrEqual(10);
    const records: Record<string, unknown>[] = trail();
    const refusals = records.filter((r) => r.decision === 'deny');
    expect(
      refusals.map((r) => [r.kind, r.adapter, r.reason, r.username, r.address ?? null, r.topic ?? null]),
    ).toEqual([
      ['authenticate', 'emqx', 'bad-credentials', 'demo', '198.51.100.7', null],
      ['authenticate', 'emqx', 'bad-credentials', 'demo', '198.51.100.7', null],
      ['authenticate', 'emqx', 'not-authorized', 'demo', '192.0.2.10', null],
      ['authenticate', 'emqx', 'bad-credentials', 'dev-jwt', '192.0.2.20', null],
      ['authorize', 'emqx', 'rule', 'demo', '192.0.2.10', 'devices/demo/admin/reboot'],
      ['authorize', 'emqx', 'default', 'demo', '192.0.2.10', 'devices/sensor-1/temp'],
      ['authorize', 'emqx', 'unknown-session', 'ghost', null, null],
    ]);
    // The written rule, as file:line:column of the policy.
    expect(refusals[4]!.rule).toMatch(new RegExp(`policy\\.yaml:${RULE_LINE}:\\d+$`));
    expect(refusals[2]!.rule).toBeDefined();
    expect(records.filter((r) => r.decision === 'allow').map((r) => r.kind)).toEqual([
      'authenticate',
      'authenticate',
      'authorize',
    ]);

    const text = readFileSync(join(dir, 'audit.jsonl'), 'utf8');
    expect(secrets.length).toBeGreaterThanOrEqual(7);
    for (const secret of secrets) expect(text).not.toContain(secret);
    // Not even a JWT's signature or payload.
    for (const part of jwt('dev-jwt').split('.').slice(1)) expect(text).not.toContain(part);
  });

  it('audit tail prints the trail with filters', async () => {
    const denied = await cli([
      'audit',
      'tail',
      '--config',
      join(dir, 'warden.yaml'),
      '--decision',
      'deny',
      '--json',
    ]);
    expect(denied.code).toBe(0);
    const lines = denied.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toHaveLength(7);
    expect(lines.every((r) => r.decision === 'deny')).toBe(true);

    const fromAddress = await cli([
      'audit',
      'tail',
      '--config',
      join(dir, 'warden.yaml'),
      '--address',
      '198.51.100.7',
    ]);
    expect(fromAddress.stdout.trim().split('\n')).toHaveLength(2);
    expect(fromAddress.stdout).toContain('DENY authenticate emqx');
    expect(fromAddress.stdout).toContain('reason=bad-credentials');

    const jwtUser = await cli([
      'audit',
      'tail',
      '--config',
      join(dir, 'warden.yaml'),
      '--principal',
      'dev-jwt',
      '--decision',
      'allow',
      '--json',
    ]);
    expect(
      jwtUser.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).principal),
    ).toEqual(['dev-jwt']);

    const usage = await cli(['audit', 'tail', '--config', join(dir, 'warden.yaml'), '--decision', 'maybe']);
    expect(usage.code).toBe(2);
  });

  it('audit tail --follow prints new records as they are written, until interrupted', async () => {
    const tail = spawn(
      process.execPath,
      [
        CLI,
        'audit',
        'tail',
        '--config',
        join(dir, 'warden.yaml'),
        '--follow',
        '--decision',
        'deny',
        '--principal',
        'sensor-1',
        '--json',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    tail.stdout!.on('data', (chunk) => (out += chunk));
    // First the refusal already written (demo asking for client id sensor-1): the tail is at the end.
    await expect.poll(() => out, { timeout: 15_000 }).toContain('"reason":"not-authorized"');
    expect(out.trim().split('\n')).toHaveLength(1);
    expect((await login('sensor-1', 'wrong-password-999', 'sensor-1', '203.0.113.50')).result).toBe('deny');
    await expect.poll(() => out, { timeout: 15_000 }).toContain('"address":"203.0.113.50"');
    const exited = new Promise<number | null>((r) => tail.once('exit', r));
    process.kill(tail.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    expect(out).not.toContain('wrong-password-999');
  });
});

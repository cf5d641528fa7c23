import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Two `mqtt-warden serve` processes sharing one Redis (started here, on a free port, killed by PID):
// wrong passwords spread over both lock the user on both; the right password is refused while locked,
// with no verification, and accepted after the back-off; the CLI lists and clears the lock; Redis
// stopped mid-run makes both fail closed, and they recover when it is back.

const CLI = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const QUICKSTART = fileURLToPath(new URL('../../../examples/quickstart/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'warden-replicas-'));
const configFile = join(dir, 'warden.yaml');

let redisPort = 0;
let redis: ChildProcess | undefined;
const replicas: { process: ChildProcess; url: string; metrics: string }[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts redis-server without persistence and resolves once it accepts connections. */
function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return waitFor(child, /Ready to accept connections/).then(() => child);
}

function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    process.kill(child.pid!, 'SIGKILL');
  });
}

function waitFor(child: ChildProcess, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}: ${seen}`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = pattern.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${seen}`)));
  });
}

async function startReplica() {
  const child = spawn(process.execPath, [CLI, 'serve', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [, url, metrics] = await waitFor(
    child,
    /listening on (http:\/\/\S+)[\s\S]*?readyz on (http:\/\/\S+)/,
  );
  replicas.push({ process: child, url: url!, metrics: metrics! });
}

beforeAll(async () => {
  redisPort = await freePort();
  redis = await startRedis(redisPort);
  writeFileSync(
    configFile,
    [
      'listen: { host: 127.0.0.1, port: 0 }',
      'log: { level: error }',
      `policy: { file: ${join(QUICKSTART, 'policy.yaml')} }`,
      `authenticators: [{ type: password, file: ${join(QUICKSTART, 'users.yaml')} }]`,
      'metrics: { listen: { host: 127.0.0.1, port: 0 } }',
      'defenses:',
      `  store: { redis: { url: "redis://127.0.0.1:${redisPort}", keyPrefix: replicas-test, timeoutMs: 300 } }`,
      '  lockout:',
      '    username: { failures: 4 }',
      '    usernameAddress: { failures: 100 }',
      '    backoff: { initialSeconds: 5, maxSeconds: 10 }',
    ].join('\n'),
  );
  await Promise.all([startReplica(), startReplica()]);
}, 120_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => stop(r.process)));
  await stop(redis);
  rmSync(dir, { recursive: true, force: true });
});

async function login(replica: number, password: string, peerhost = '10.20.0.1'): Promise<string> {
  const res = await fetch(`${replicas[replica]!.url}/emqx/authn`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'demo', password, clientid: 'demo', peerhost }),
  });
  return ((await res.json()) as { result: string }).result;
}

/** Verifications (attempts handed to the password authenticator) in each replica, from /metrics. */
async function verifications(): Promise<number[]> {
  return Promise.all(
    replicas.map(async (r) => {
      const text = await (await fetch(`${r.metrics}/metrics`)).text();
      return Number(/^mqtt_warden_authentication_verifications_total (\d+)$/m.exec(text)?.[1]);
    }),
  );
}

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function lockDemo() {
  // Four wrong passwords, from four addresses, spread over the two replicas.
  for (let i = 0; i < 4; i++) expect(await login(i % 2, `guess-${i}`, `10.20.1.${i}`)).toBe('deny');
}

describe('two serve replicas on one Redis', () => {
  it('lock the user on both after failures spread over both, without verifying, until the back-off ends', async () => {
    await lockDemo();
    const before = await verifications();
    expect(await login(0, 'demo-password')).toBe('deny');
    expect(await login(1, 'demo-password')).toBe('deny');
    expect(await verifications()).toEqual(before);

    const listed = await cli('lockout', 'list', '--config', configFile, '--json');
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toContainEqual(
      expect.objectContaining({ key: 'user:demo', kind: 'user' }),
    );

    // The lock outlives a CLI start on a loaded machine (about 3 s at load average 15).
    await sleep(5300);
    expect(await login(1, 'demo-password')).toBe('allow');
    expect(await login(0, 'demo-password')).toBe('allow');
  });

  it('lift a lock cleared with the CLI', async () => {
    await lockDemo();
    expect(await login(0, 'demo-password')).toBe('deny');
    const cleared = await cli('lockout', 'clear', 'user:demo', '--config', configFile);
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(await login(0, 'demo-password')).toBe('allow');
    expect((await cli('lockout', 'clear', 'user:demo', '--config', configFile)).code).toBe(1);
    expect((await cli('lockout', 'clear', 'demo', '--config', configFile)).code).toBe(2);
  });

  it('fail closed while Redis is down, keep running, and recover when it is back', async () => {
    await stop(redis);
    const before = await verifications();
    expect(await login(0, 'demo-password')).toBe('deny');
    expect(await login(1, 'demo-password')).toBe('deny');
    expect(await verifications()).toEqual(before);
    for (const r of replicas) expect((await fetch(`${r.url}/healthz`)).status).toBe(200);
    const listed = await cli('lockout', 'list', '--config', configFile);
    expect(listed.code).toBe(2);
    expect(listed.stderr).toMatch(/did not answer/);

    redis = await startRedis(redisPort);
    let answers: string[] = [];
    for (let i = 0; i < 40; i++) {
      answers = [await login(0, 'demo-password'), await login(1, 'demo-password')];
      if (answers.every((a) => a === 'allow')) break;
      await sleep(250);
    }
    expect(answers).toEqual(['allow', 'allow']);
  });
});

import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { login, type Replica, runCli, startReplica, stopReplica, until } from './replica-processes.js';

// Properties: the defenses' Redis URL is a secret like the PostgreSQL URL (inline, { env }, { file }),
// each form reaching Redis through `mqtt-warden serve` and `mqtt-warden lockout`; and the URL, which may
// hold a password, is never in the output: neither while Redis is unreachable nor for a URL that is not
// one, where the error says where it was written and what to write instead.

const QUICKSTART = fileURLToPath(new URL('../../../examples/quickstart/', import.meta.url));
const REDIS = ['-h', '127.0.0.1', '-p', '6379'];
const dir = mkdtempSync(join(tmpdir(), 'warden-redis-url-'));
const replicas: Replica[] = [];
const users: string[] = [];
const prefixes: string[] = [];

afterAll(async () => {
  await Promise.all(replicas.map(stopReplica));
  for (const user of users) execFileSync('redis-cli', [...REDIS, 'ACL', 'DELUSER', user]);
  for (const prefix of prefixes) {
    const keys = execFileSync('redis-cli', [...REDIS, '--scan', '--pattern', `${prefix}:*`]).toString();
    for (const key of keys.split('\n').filter(Boolean)) execFileSync('redis-cli', [...REDIS, 'DEL', key]);
  }
  rmSync(dir, { recursive: true, force: true });
});

type Form = 'inline' | 'env' | 'file';
const FORMS: Form[] = ['inline', 'env', 'file'];

/** A config whose defenses store is `url`, written in `form`; its file and the environment serve needs. */
function configWith(name: string, form: Form, url: string, keyPrefix = `warden-s20-${name}`) {
  const urlFile = join(dir, `${name}.url`);
  writeFileSync(urlFile, `${url}\n`);
  const written = {
    inline: JSON.stringify(url),
    env: '{ env: WARDEN_TEST_REDIS_URL }',
    file: `{ file: ${name}.url }`, // relative: read from the config's directory
  }[form];
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      'listen: { host: 127.0.0.1, port: 0 }',
      'log: { level: info }',
      `policy: { file: ${join(QUICKSTART, 'policy.yaml')} }`,
      `authenticators: [{ type: password, file: ${join(QUICKSTART, 'users.yaml')} }]`,
      'defenses:',
      `  store: { redis: { url: ${written}, keyPrefix: ${keyPrefix}, timeoutMs: 300 } }`,
      '  lockout: { username: { failures: 2 } }',
    ].join('\n'),
  );
  const env: Record<string, string> = form === 'env' ? { WARDEN_TEST_REDIS_URL: url } : {};
  return { file, env };
}

/** `serve` with `env` added to this process's environment (the child inherits it). */
async function serve(name: string, file: string, env: Record<string, string>): Promise<Replica> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const replica = await startReplica(name, file);
    replicas.push(replica);
    return replica;
  } finally {
    process.env = saved;
  }
}

function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('the defenses Redis URL as a secret', () => {
  it.each(FORMS)(
    '%s: reaches Redis with its credentials, through serve and lockout',
    async (form) => {
      // A Redis user of our own: only this password opens it, and only keys under our prefix.
      const user = `warden-s20-${randomUUID()}`;
      const password = randomUUID();
      const prefix = `warden-s20-${form}-${randomUUID().slice(0, 8)}`;
      users.push(user);
      prefixes.push(prefix);
      execFileSync('redis-cli', [
        ...REDIS,
        'ACL',
        'SETUSER',
        user,
        'on',
        `>${password}`,
        `~${prefix}:*`,
        '+@all',
      ]);
      const { file, env } = configWith(
        `ok-${form}`,
        form,
        `redis://${user}:${password}@127.0.0.1:6379/0`,
        prefix,
      );
      const replica = await serve(`ok-${form}`, file, env);
      expect(await login(replica, 'demo', 'wrong-1')).toBe('deny');
      expect(await login(replica, 'demo', 'wrong-2')).toBe('deny');
      // Locked in Redis: the right password is refused, and the lock is in the keys under our prefix.
      expect(await login(replica, 'demo', 'demo-password')).toBe('deny');
      const keys = execFileSync('redis-cli', [...REDIS, '--scan', '--pattern', `${prefix}:*`]).toString();
      expect(keys).toMatch(/user:demo/);
      const listed = await runCli(['lockout', 'list', '--config', file, '--json'], { cwd: dir, env });
      expect(listed.code, listed.stderr).toBe(0);
      expect(JSON.parse(listed.stdout)).toContainEqual(expect.objectContaining({ key: 'user:demo' }));
      expect(replica.output()).not.toContain(password);
    },
    120_000,
  );

  it.each(FORMS)(
    '%s: never prints the URL while Redis is unreachable, and says what to check',
    async (form) => {
      const password = `pw-${randomUUID()}`;
      const { file, env } = configWith(
        `closed-${form}`,
        form,
        `redis://warden:${password}@127.0.0.1:${await closedPort()}/0`,
      );
      const replica = await serve(`closed-${form}`, file, env);
      await until(async () => /unreachable/.test(replica.output()), 30_000);
      // A login needs the store: it is answered "try later", never from a guess.
      expect(await login(replica, 'demo', 'demo-password')).not.toBe('allow');
      await stopReplica(replica);
      const output = replica.output();
      expect(output).toMatch(/check that Redis runs at the host and port of defenses\.store\.redis\.url/);
      expect(output).not.toContain(password);
      expect(output).not.toContain(encodeURIComponent(password));
    },
    120_000,
  );

  it.each(FORMS)(
    '%s: a URL that is not one is refused with where and what to write, not the URL',
    async (form) => {
      const password = `pw-${randomUUID()}`;
      for (const url of [`redis://:${password}@127.0.0.1:notaport/0`, `http://:${password}@127.0.0.1:6379`]) {
        const { file, env } = configWith(`bad-${form}`, form, url);
        for (const command of [
          ['serve', '--config', file, '--port', '0'],
          ['lockout', 'list', '--config', file],
        ]) {
          const run = await runCli(command, { cwd: dir, env });
          expect(run.code).toBe(2);
          const output = run.stdout + run.stderr;
          expect(output).toMatch(/bad-\w+\.yaml:\d+:\d+ \(defenses\.store\.redis\.url\)/);
          expect(output).toMatch(/write redis:\/\/\[USER:PASSWORD@\]HOST:PORT\/DB/);
          expect(output).not.toContain(password);
        }
      }
    },
    120_000,
  );
});

/**
 * The service recipes in deploy/, exercised without a container engine or a running systemd: the
 * Dockerfile's install, start and health check steps run as written (parsed from it) in a temp root that
 * stands for the image's /, then the systemd unit's ExecReload reloads the running server, and
 * `systemd-analyze verify` checks the unit. The compose files point their brokers at the server's routes.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  freePort,
  INSTALL_TIMEOUT_MS,
  packedTarballs,
  ROOT,
  userEnv,
  userProject,
} from './installed-packages.js';

const DEPLOY = join(ROOT, 'deploy');

interface Instruction {
  readonly stage: string;
  readonly keyword: string;
  readonly args: string;
}

/** Dockerfile instructions (continuation lines joined, comments dropped), each with its stage's name. */
function dockerfile(text: string): Instruction[] {
  let stage = '';
  const lines = text.replace(/\\\n\s*/g, ' ').split('\n');
  return lines.flatMap((line) => {
    const match = /^([A-Z]+)\s+(.*)$/.exec(line.trim());
    if (!match) return [];
    const [, keyword, args] = match as unknown as [string, string, string];
    if (keyword === 'FROM') stage = /\sAS\s+(\S+)/i.exec(args)?.[1] ?? 'final';
    return [{ stage, keyword, args }];
  });
}

/** `KEY=value KEY2=value` of an ENV instruction. */
const envOf = (args: string) => Object.fromEntries(args.split(/\s+/).map((pair) => pair.split('=', 2)));

function sh(command: string, env: NodeJS.ProcessEnv, cwd: string, timeout = 120_000, input?: string) {
  return new Promise<{ code: number; output: string }>((resolve) => {
    const child = execFile('sh', ['-c', command], { cwd, env, timeout }, (error, stdout, stderr) =>
      resolve({
        code: error ? (typeof error.code === 'number' ? error.code : -1) : 0,
        output: stdout + stderr,
      }),
    );
    child.stdin?.end(input ?? '');
  });
}

const instructions = dockerfile(readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8'));
const final = instructions.filter((i) => i.stage === 'final');
const one = (list: Instruction[], keyword: string) => {
  const found = list.filter((i) => i.keyword === keyword);
  expect(found, keyword).toHaveLength(1);
  return found[0]!.args;
};

describe('deploy/Dockerfile, its steps run in a temp root', { timeout: 120_000 }, () => {
  let root: string;
  /** The image's paths under the temp root; the Dockerfile's copies of deploy/ files are the repository's. */
  let rebase: (text: string) => string;
  let env: NodeJS.ProcessEnv;
  let server: ChildProcess | undefined;
  let output = '';
  let port: number;
  /** The password `mqtt-warden init` gave the demo user. */
  let demoPassword: string;

  beforeAll(async () => {
    root = userProject('warden-image');
    rebase = (text) =>
      text
        .replaceAll('/src/deploy/', `${DEPLOY}/`)
        .replaceAll('/packs', join(root, 'packs'))
        .replaceAll('/opt/mqtt-warden', join(root, 'opt/mqtt-warden'))
        .replaceAll('/etc/mqtt-warden', join(root, 'etc/mqtt-warden'));
    // Stage 1 packs the packages with the command the shared helper runs; its output goes to /packs.
    expect(
      instructions
        .filter((i) => i.stage === 'build' && i.keyword === 'RUN')
        .map((i) => i.args)
        .join('\n'),
    ).toContain('pnpm -r pack --pack-destination /packs');
    mkdirSync(join(root, 'packs'));
    for (const tarball of (await packedTarballs()).values()) {
      copyFileSync(tarball, join(root, 'packs', basename(tarball)));
    }
    // Stage 2: its RUN line, as written, with DESTDIR standing for the image's root.
    const install = one(
      instructions.filter((i) => i.stage === 'install'),
      'RUN',
    );
    const installed = await sh(
      rebase(install),
      userEnv({ DESTDIR: root }),
      root,
      INSTALL_TIMEOUT_MS - 30_000,
    );
    expect(installed.code, installed.output).toBe(0);
    // The config a user mounts at /etc/mqtt-warden, written as docs/deployment.md says (mqtt-warden init);
    // watch off, so that only a reload (SIGHUP) can pick up a changed users file.
    const bin = join(root, 'opt/mqtt-warden/node_modules/.bin/mqtt-warden');
    const init = await sh(`${bin} init ${join(root, 'etc/mqtt-warden')}`, userEnv(), root);
    expect(init.code, init.output).toBe(0);
    const config = join(root, 'etc/mqtt-warden/warden.yaml');
    writeFileSync(
      config,
      readFileSync(config, 'utf8').replace('  file: policy.yaml\n', '  file: policy.yaml\n  watch: false\n'),
    );
    demoPassword = /^ {2}demo +(\S+)$/m.exec(init.output)![1]!;

    // Stage 3: ENTRYPOINT + CMD under the image's ENV, but on a free loopback port (tests stay on loopback).
    port = await freePort();
    env = userEnv({
      ...envOf(one(final, 'ENV')),
      MQTT_WARDEN_HOST: '127.0.0.1',
      MQTT_WARDEN_PORT: String(port),
    });
    const command = [...JSON.parse(one(final, 'ENTRYPOINT')), ...JSON.parse(one(final, 'CMD'))].map(rebase);
    server = spawn(command[0]!, command.slice(1), { env, cwd: root });
    server.stdout!.on('data', (chunk) => {
      output += chunk;
    });
    server.stderr!.on('data', (chunk) => {
      output += chunk;
    });
    for (const started = Date.now(); !output.includes('mqtt-warden listening on'); await sleep(200)) {
      if (Date.now() - started > 60_000 || server.exitCode !== null) throw new Error(`server: ${output}`);
    }
  }, INSTALL_TIMEOUT_MS);

  afterAll(() => {
    if (server?.exitCode === null) server.kill('SIGTERM');
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const healthcheck = () => {
    const args = one(final, 'HEALTHCHECK');
    const command = JSON.parse(/\bCMD\s+(\[.*\])$/.exec(args)![1]!) as string[];
    return sh(command.map((part) => JSON.stringify(rebase(part))).join(' '), env, root, 30_000);
  };

  it('runs as a non-root user, with the config at /etc/mqtt-warden/warden.yaml', () => {
    const user = one(final, 'USER');
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(final.find((i) => i.keyword === 'RUN')?.args).toMatch(
      new RegExp(`useradd .*--uid ${user.split(':')[0]}`),
    );
    expect(JSON.parse(one(final, 'CMD'))).toEqual(['serve', '--config', '/etc/mqtt-warden/warden.yaml']);
    expect(instructions.map((i) => i.stage).filter((s, i, all) => all.indexOf(s) === i)).toEqual([
      'build',
      'install',
      'final',
    ]);
  });

  it('is healthy by its HEALTHCHECK, which hits /healthz', async () => {
    const health = await healthcheck();
    expect(health.code, health.output).toBe(0);
    const response = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('reloads the users file on the systemd unit’s ExecReload (SIGHUP), not before', async () => {
    const reload = /^ExecReload=(.*)$/m.exec(readFileSync(join(DEPLOY, 'mqtt-warden.service'), 'utf8'))![1]!;
    expect(reload).toBe('/bin/kill -HUP $MAINPID');
    const login = async (password: string) => {
      const response = await fetch(`http://127.0.0.1:${port}/emqx/authn`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'demo', password, clientid: 'demo' }),
      });
      return ((await response.json()) as { result: string }).result;
    };
    const users = join(root, 'etc/mqtt-warden/users.yaml');
    const bin = join(root, 'opt/mqtt-warden/node_modules/.bin/mqtt-warden');
    const changed = await sh(
      `${bin} passwd --stdin ${users} demo`,
      userEnv(),
      root,
      60_000,
      'kettle-orbit-plum-5531\n',
    );
    expect(changed.code, changed.output).toBe(0);
    expect(await login(demoPassword)).toBe('allow');
    expect(await login('kettle-orbit-plum-5531')).toBe('deny');

    const reloaded = await sh(reload.replace('$MAINPID', String(server!.pid)), env, root);
    expect(reloaded.code, reloaded.output).toBe(0);
    await expect
      .poll(() => login('kettle-orbit-plum-5531'), { timeout: 30_000, interval: 300 })
      .toBe('allow');
    expect(await login(demoPassword)).toBe('deny');
    expect(server!.exitCode).toBeNull();
  });

  it('is unhealthy once the server stops, and the server exits 0 on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => server!.once('exit', resolve));
    server!.kill('SIGTERM');
    expect(await exited).toBe(0);
    const health = await healthcheck();
    expect(health.code).toBe(1);
  });
});

describe('deploy/mqtt-warden.service', () => {
  const unit = readFileSync(join(DEPLOY, 'mqtt-warden.service'), 'utf8');

  it('is hardened and runs the installed command on /etc/mqtt-warden/warden.yaml', () => {
    for (const setting of [
      'DynamicUser=yes',
      'ProtectSystem=strict',
      'NoNewPrivileges=yes',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'CapabilityBoundingSet=',
      'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
      'SystemCallFilter=@system-service',
    ]) {
      expect(unit).toMatch(new RegExp(`^${setting.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    }
    // V8's JIT needs W+X memory: this setting would kill node at start.
    expect(unit).not.toMatch(/^MemoryDenyWriteExecute=yes/m);
    expect(/^ExecStart=(.*)$/m.exec(unit)?.[1]).toBe(
      '/opt/mqtt-warden/node_modules/.bin/mqtt-warden serve --config /etc/mqtt-warden/warden.yaml',
    );
  });

  // systemd-analyze comes with Debian's systemd package (installed here; apt-get install systemd elsewhere).
  const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find(existsSync);
  it.skipIf(!analyze)('passes systemd-analyze verify without a warning', async () => {
    // verify checks that ExecStart's program exists: point it at a stand-in under a temp root.
    const dir = userProject('warden-unit');
    const bin = join(dir, 'opt/mqtt-warden/node_modules/.bin');
    mkdirSync(bin, { recursive: true });
    copyFileSync('/bin/true', join(bin, 'mqtt-warden'));
    writeFileSync(
      join(dir, 'mqtt-warden.service'),
      unit.replaceAll('/opt/mqtt-warden', join(dir, 'opt/mqtt-warden')),
    );
    const result = await new Promise<{ code: number; output: string }>((resolve) =>
      execFile(
        analyze!,
        ['verify', join(dir, 'mqtt-warden.service')],
        { timeout: 60_000 },
        (error, stdout, stderr) => resolve({ code: error ? 1 : 0, output: stdout + stderr }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });
});

describe('the docker-compose files', () => {
  it.each([
    [
      'docker-compose.emqx.yml',
      'emqx',
      'emqx/cluster.hocon',
      /url = "http:\/\/mqtt-warden:8080(\/[^"]+)"/g,
      ['/emqx/authn', '/emqx/authz'],
    ],
    [
      'docker-compose.mosquitto-go-auth.yml',
      'mosquitto',
      'mosquitto-go-auth/mosquitto.conf',
      /^auth_opt_http_\w+_uri (\S+)$/gm,
      ['/mosquitto/user', '/mosquitto/superuser', '/mosquitto/acl'],
    ],
  ] as const)(
    '%s builds the image, mounts the config and points %s at it',
    (file, broker, conf, urls, paths) => {
      const compose = parse(readFileSync(join(DEPLOY, file), 'utf8'));
      const warden = compose.services['mqtt-warden'];
      expect(warden.build).toEqual({ context: '..', dockerfile: 'deploy/Dockerfile' });
      expect(warden.volumes).toContain('../conf:/etc/mqtt-warden:ro');
      expect(compose.services[broker].depends_on).toEqual({
        'mqtt-warden': { condition: 'service_healthy' },
      });
      const mounted = compose.services[broker].volumes.map((volume: string) => volume.split(':')[0]);
      expect(mounted).toContain(`./${conf}`);
      const text = readFileSync(join(DEPLOY, conf), 'utf8');
      expect([...text.matchAll(urls)].map((m) => m[1])).toEqual(paths);
      if (broker === 'mosquitto') expect(text).toMatch(/^auth_opt_http_host mqtt-warden$/m);
    },
  );
});

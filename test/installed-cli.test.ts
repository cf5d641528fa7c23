/**
 * The `mqtt-warden` command as users get it: every workspace package packed with `pnpm pack`, the server
 * and its @mqtt-warden dependencies installed from those tarballs with npm into a fresh directory outside
 * the workspace, and the command run the ways npm exposes it (the node_modules/.bin symlink, npx).
 * One install is shared by every case; it needs the npm registry for third-party dependencies (or npm's cache).
 */
import { spawn } from 'node:child_process';
import { readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closure,
  INSTALL_TIMEOUT_MS,
  npmInstall,
  packedTarballs,
  ROOT,
  type Run,
  run,
  userEnv,
  userProject,
} from './installed-packages.js';

const POLICY = `version: 1
users: { alice: [device] }
roles:
  device:
    rules:
      - { effect: allow, actions: publish, topics: "devices/alice/#" }
`;

const suite = (expectOther: 'allow' | 'deny') => `policy: policy.yaml
cases:
  - name: alice publishes her telemetry
    who: { username: alice, clientId: alice-1 }
    what: { publish: devices/alice/temp }
    expect: allow
  - name: alice publishes to another device
    who: { username: alice, clientId: alice-1 }
    what: { publish: devices/bob/temp }
    expect: ${expectOther}
`;

// Each case starts the command several times (npx costs about a second on a loaded machine).
describe('the installed mqtt-warden command', { timeout: 90_000 }, () => {
  let dir: string | undefined;
  /** The two ways a user runs the installed command: the .bin symlink and npx (never fetching). */
  let ways: [string, (args: string[]) => Promise<Run>][];

  beforeAll(async () => {
    dir = userProject('warden-install');
    const installed = await npmInstall(dir, ['@mqtt-warden/server']);
    expect(installed.code, installed.stderr).toBe(0);
    writeFileSync(join(dir, 'policy.yaml'), POLICY);
    writeFileSync(join(dir, 'failing.test.yaml'), suite('allow'));
    writeFileSync(join(dir, 'passing.test.yaml'), suite('deny'));
    const cwd = dir;
    const bin = join(cwd, 'node_modules/.bin/mqtt-warden');
    ways = [
      ['node_modules/.bin/mqtt-warden', (args) => run(bin, args, cwd)],
      ['npx mqtt-warden', (args) => run('npx', ['--yes=false', 'mqtt-warden', ...args], cwd)],
    ];
  }, INSTALL_TIMEOUT_MS);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is installed from the tarballs, outside the workspace, as a link to the package’s bin', () => {
    const server = realpathSync(join(dir!, 'node_modules/@mqtt-warden/server'));
    expect(server.startsWith(realpathSync(ROOT))).toBe(false);
    expect(realpathSync(join(dir!, 'node_modules/.bin/mqtt-warden'))).toBe(join(server, 'dist/bin.js'));
  });

  it('ships the config JSON Schema, named by the quickstart and exported for editors and tools', async () => {
    const server = join(dir!, 'node_modules/@mqtt-warden/server');
    const line = /^# yaml-language-server: \$schema=(\S+)$/m.exec(
      readFileSync(join(server, 'quickstart/warden.yaml'), 'utf8'),
    );
    expect(line?.[1]).toBe('../warden.schema.json');
    const resolved = await run(
      process.execPath,
      ['-p', "require.resolve('@mqtt-warden/server/warden.schema.json')"],
      dir!,
    );
    expect(resolved.stdout.trim()).toBe(realpathSync(join(server, 'warden.schema.json')));
    const schema = JSON.parse(readFileSync(join(server, 'warden.schema.json'), 'utf8'));
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(Object.keys(schema.properties)).toContain('listen');
  });

  it('exits 1 on a failing policy suite and writes a JUnit report naming the failed case', async () => {
    for (const [how, mqttWarden] of ways) {
      const report = `report-${how.includes('npx') ? 'npx' : 'bin'}.xml`;
      const result = await mqttWarden(['test', 'failing.test.yaml', '--junit', report]);
      expect(result.code, `${how}\n${result.stdout}${result.stderr}`).toBe(1);
      expect(result.stdout, how).toMatch(/FAIL failing\.test\.yaml:\d+ alice publishes to another device/);
      const xml = readFileSync(join(dir!, report), 'utf8');
      expect(xml, how).toMatch(/<testsuites[^>]* tests="2" failures="1"/);
      expect(xml, how).toMatch(/name="alice publishes to another device"[^/]*>\s*<failure/);
    }
  });

  it('exits 0 on a passing suite', async () => {
    for (const [how, mqttWarden] of ways) {
      const result = await mqttWarden(['test', 'passing.test.yaml']);
      expect(result.code, `${how}\n${result.stdout}${result.stderr}`).toBe(0);
      expect(result.stdout, how).toMatch(/2 passed, 0 failed/);
    }
  });

  it('serves the embedded quickstart with no config, answering the curl line it prints', async () => {
    // MQTT_WARDEN_PORT=0: any free port, so parallel runs and a busy 8080 do not collide.
    const child = spawn(join(dir!, 'node_modules/.bin/mqtt-warden'), ['serve'], {
      cwd: dir,
      env: { ...userEnv(), MQTT_WARDEN_PORT: '0' },
    });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      out += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      await expect.poll(() => out, { timeout: 60_000, interval: 200 }).toMatch(/^try: curl .*$/m);
      expect(out).toMatch(/config \S+node_modules\/@mqtt-warden\/server\/quickstart\/warden\.yaml/);
      const curl = /^try: (curl .*)$/m.exec(out)![1]!;
      const answer = await run('sh', ['-c', curl], dir!);
      const [authn, authz] = answer.stdout.trim().split('\n');
      expect(JSON.parse(authn!)).toMatchObject({ result: 'allow' });
      expect(JSON.parse(authz!)).toEqual({ result: 'allow' });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('init writes a starter set that validates, and refuses to overwrite it', async () => {
    for (const [how, mqttWarden] of ways) {
      const target = `starter-${how.includes('npx') ? 'npx' : 'bin'}`;
      const first = await mqttWarden(['init', target]);
      expect(first.code, `${how}\n${first.stdout}${first.stderr}`).toBe(0);
      expect(first.stdout).toContain(`mqtt-warden serve --config ${target}/warden.yaml`);
      const valid = await mqttWarden(['validate', `${target}/policy.yaml`]);
      expect(valid.code, valid.stderr).toBe(0);
      const again = await mqttWarden(['init', target]);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('exists already');
    }
  });

  it('prints its version, and says what to do about a missing config', async () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'packages/server/package.json'), 'utf8'));
    for (const [how, mqttWarden] of ways) {
      const version = await mqttWarden(['--version']);
      expect(version, how).toMatchObject({ code: 0, stdout: `${manifest.version}\n` });
      const missing = await mqttWarden(['serve', '--config', 'nope.yaml']);
      expect(missing.code, how).toBe(2);
      expect(missing.stderr, how).toContain('cannot read the config file nope.yaml: it does not exist');
    }
  });

  it('hashes and verifies passwords on Node 20 and Node 22 without a compiler or install scripts', async () => {
    const script = `import('@mqtt-warden/password').then(async ({ hashPassword, verifyPassword }) => {
      const hash = await hashPassword('correct horse battery staple');
      const ok = await verifyPassword('correct horse battery staple', hash);
      const wrong = await verifyPassword('wrong horse battery staple', hash);
      console.log(process.versions.node.split('.')[0], hash.slice(0, 31), ok, wrong);
    })`;
    const node20 = await run(process.execPath, ['-e', script], dir!);
    // npx fetches a Node 22 binary once (then its cache): allow it the install budget.
    const node22 = await run('npx', ['-y', 'node@22', '-e', script], dir!, 240_000);
    for (const [result, major] of [
      [node20, process.versions.node.split('.')[0]],
      [node22, '22'],
    ] as const) {
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout.trim()).toBe(`${major} $argon2id$v=19$m=19456,t=2,p=1$ true false`);
    }
    // No package in the install has a native build step left to run (pnpm skips them by default).
    const argon2 = JSON.parse(readFileSync(join(dir!, 'node_modules/@node-rs/argon2/package.json'), 'utf8'));
    expect(argon2.scripts?.install ?? argon2.scripts?.postinstall).toBeUndefined();
  }, 300_000);

  it('runs a policy suite through @mqtt-warden/testing from require(), node:test, jest and vitest', async () => {
    const cases = (framework: string) => `
const policy = loadPolicyForTest(require('node:path').join(__dirname, 'policy.yaml'));
${framework}('alice publishes her telemetry', () => {
  expectAllowed(policy, { username: 'alice', clientId: 'alice-1' }, { publish: 'devices/alice/temp' });
});
${framework}('alice may not publish for bob', () => {
  expectDenied(policy, { username: 'alice', clientId: 'alice-1' }, { publish: 'devices/bob/temp' });
});
${framework}('a misspelled action key is an error, not a pass', () => {
  let error;
  try { expectDenied(policy, { username: 'alice' }, { publsh: 'devices/bob/temp' }); } catch (e) { error = e; }
  if (!/unknown key "publsh"/.test(String(error))) throw new Error('typo accepted: ' + error);
});
`;
    const cjs = "const { expectAllowed, expectDenied, loadPolicyForTest } = require('@mqtt-warden/testing');";
    writeFileSync(
      join(dir!, 'policy.node.test.cjs'),
      `${cjs}\nconst { test } = require('node:test');\n${cases('test')}`,
    );
    // jest's default config: CommonJS, no transform of node_modules, testMatch *.test.js.
    writeFileSync(join(dir!, 'policy.jest.test.js'), `${cjs}\n${cases('test')}`);
    writeFileSync(
      join(dir!, 'policy.vitest.test.mjs'),
      `import { createRequire } from 'node:module';\nimport { test } from 'vitest';\nimport { expectAllowed, expectDenied, loadPolicyForTest } from '@mqtt-warden/testing';\nconst require = createRequire(import.meta.url);\nconst __dirname = import.meta.dirname;\n${cases('test')}`,
    );
    const installed = await run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', 'jest@30', 'vitest@4'],
      dir!,
      240_000,
    );
    expect(installed.code, installed.stderr).toBe(0);
    const nodeTest = await run(process.execPath, ['--test', 'policy.node.test.cjs'], dir!);
    expect(nodeTest.code, nodeTest.stdout + nodeTest.stderr).toBe(0);
    expect(nodeTest.stdout).toMatch(/# pass 3/);
    const jest = await run(
      join(dir!, 'node_modules/.bin/jest'),
      ['--ci', 'policy.jest.test.js'],
      dir!,
      120_000,
    );
    expect(jest.code, jest.stdout + jest.stderr).toBe(0);
    expect(jest.stderr).toMatch(/Tests: +3 passed, 3 total/);
    const vitest = await run(
      join(dir!, 'node_modules/.bin/vitest'),
      ['run', 'policy.vitest.test.mjs', '--root', dir!],
      dir!,
      120_000,
    );
    expect(vitest.code, vitest.stdout + vitest.stderr).toBe(0);
    expect(stripVTControlCharacters(vitest.stdout)).toMatch(/Tests +3 passed/);
  }, 480_000);

  it('prints usage for --help and exits 2 on an unknown command', async () => {
    for (const [how, mqttWarden] of ways) {
      const help = await mqttWarden(['--help']);
      expect(help.code, how).toBe(0);
      expect(help.stdout, how).toMatch(/^Usage: mqtt-warden <command>/);
      expect(help.stdout, how).toMatch(/\n {2}serve /);
      const unknown = await mqttWarden(['frobnicate']);
      expect(unknown.code, how).toBe(2);
      expect(unknown.stderr, how).toMatch(/unknown command "frobnicate"/);
    }
  });
});

describe('the packages installed with pnpm', () => {
  let dir: string | undefined;
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('pnpm add of the tarballs gives a working mqtt-warden (no build scripts run)', {
    timeout: INSTALL_TIMEOUT_MS,
  }, async () => {
    const tarballs = await packedTarballs();
    const files = closure('@mqtt-warden/server').map((name) => tarballs.get(name)!);
    // The server's @mqtt-warden dependencies are version ranges: point them at the tarballs, not the registry.
    const overrides = Object.fromEntries(
      closure('@mqtt-warden/server').map((name) => [name, `file:${tarballs.get(name)}`]),
    );
    dir = userProject('warden-pnpm', { pnpm: { overrides } });
    const added = await run('pnpm', ['add', '--prefer-offline', ...files], dir, INSTALL_TIMEOUT_MS - 30_000);
    expect(added.code, added.stdout + added.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(ROOT, 'packages/server/package.json'), 'utf8'));
    const version = await run(join(dir, 'node_modules/.bin/mqtt-warden'), ['--version'], dir);
    expect(version, version.stderr).toMatchObject({ code: 0, stdout: `${manifest.version}\n` });
    // argon2 is a prebuilt Node-API binary: it hashes though pnpm ran no install script.
    const hash = await run(
      'sh',
      ['-c', 'echo "plum-kettle-orbit-57" | node_modules/.bin/mqtt-warden hash'],
      dir,
    );
    expect(hash.code, hash.stderr).toBe(0);
    expect(hash.stdout).toMatch(/^\$argon2id\$v=19\$/);
  });
});

/**
 * What users do with the packages once installed from the packed tarballs (npm, a fresh project outside
 * the workspace): secure an Aedes broker exactly as @mqtt-warden/aedes's README says and talk to it with
 * the Debian mosquitto clients; import every package from an ES module, require() the CommonJS-capable
 * ones, and type-check a TypeScript consumer under moduleResolution node16 and bundler.
 * (Policy suites from vitest, node:test, jest and `mqtt-warden test --junit`: test/installed-cli.test.ts.)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  INSTALL_TIMEOUT_MS,
  npmInstall,
  ROOT,
  run,
  userEnv,
  userProject,
  workspaceManifests,
} from './installed-packages.js';
import { isCode, readmeBlocks, toJavaScript } from './readme-blocks.js';

const PACKAGES = [...workspaceManifests().keys()];
/** The packages with a CommonJS build (dist/cjs, a require condition): topic, core, policy, testing. */
const COMMONJS = [...workspaceManifests().values()]
  .filter((manifest) => manifest.exports?.['.']?.require)
  .map((manifest) => manifest.name);

/** Output of a child so far, for polling. */
function collect(child: ChildProcess): () => string {
  let out = '';
  child.stdout?.on('data', (chunk) => {
    out += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    out += chunk;
  });
  return () => out;
}

describe('installed from the tarballs', { timeout: 120_000 }, () => {
  let dir: string | undefined;

  beforeAll(async () => {
    dir = userProject('warden-journeys', { type: 'module' });
    const installed = await npmInstall(dir, PACKAGES, [
      'aedes@^1.2.0',
      'typescript@5.9.3',
      '@types/node@^20.19.0',
    ]);
    expect(installed.code, installed.stderr).toBe(0);
  }, INSTALL_TIMEOUT_MS);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('an Aedes broker secured as @mqtt-warden/aedes’s README says', () => {
    let broker: ChildProcess | undefined;
    let port: number;
    const mqtt = (user: string, password: string) => [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-i',
      user,
      '-u',
      user,
      '-P',
      password,
    ];

    beforeAll(async () => {
      const blocks = readmeBlocks(readFileSync(join(ROOT, 'packages/aedes/README.md'), 'utf8'));
      for (const block of blocks) if (block.file) writeFileSync(join(dir!, block.file), block.code);
      const server = blocks.find((block) => isCode(block) && block.until);
      expect(server, 'the README shows the broker, marked <!-- until: ... -->').toBeDefined();
      writeFileSync(join(dir!, 'broker.mjs'), toJavaScript(server!.code));
      port = await freePort();
      broker = spawn(process.execPath, ['broker.mjs'], { cwd: dir, env: userEnv({ PORT: String(port) }) });
      const output = collect(broker);
      for (const started = Date.now(); !output().includes(server!.until!); await sleep(200)) {
        if (Date.now() - started > 60_000 || broker.exitCode !== null) throw new Error(`broker: ${output()}`);
      }
    }, 90_000);

    afterAll(() => {
      broker?.kill('SIGTERM');
    });

    it('delivers an allowed publish, drops a forbidden one and refuses a bad password', async () => {
      // The dashboard reads devices/#: the first (and only) message it gets must be the allowed one.
      // stdbuf: line-buffered, so the SUBACK line shows before the process ends.
      const sub = spawn(
        'stdbuf',
        [
          '-oL',
          'mosquitto_sub',
          ...mqtt('dashboard', 'dashboard-password'),
          '-t',
          'devices/#',
          '-v',
          '-d',
          '-C',
          '1',
          '-W',
          '60',
        ],
        { env: userEnv() },
      );
      const received = collect(sub);
      const exited = new Promise<number | null>((resolve) => sub.on('exit', resolve));
      await expect.poll(received, { timeout: 30_000, interval: 100 }).toMatch(/received SUBACK/);

      const forbidden = await run(
        'mosquitto_pub',
        [...mqtt('sensor-1', 'sensor-password'), '-q', '1', '-t', 'devices/sensor-2/t', '-m', 'forged'],
        dir!,
      );
      const allowed = await run(
        'mosquitto_pub',
        [...mqtt('sensor-1', 'sensor-password'), '-q', '1', '-t', 'devices/sensor-1/t', '-m', '21.5'],
        dir!,
      );
      expect(allowed.code, allowed.stderr).toBe(0);
      expect(await exited, received()).toBe(0);
      const messages = received()
        .split('\n')
        .filter((line) => line.startsWith('devices/'));
      expect(messages).toEqual(['devices/sensor-1/t 21.5']);
      // Aedes refuses the publish by closing the connection: the QoS 1 PUBACK never comes.
      expect(forbidden.code, forbidden.stdout + forbidden.stderr).not.toBe(0);

      const wrong = await run(
        'mosquitto_pub',
        [...mqtt('sensor-1', 'not-the-password'), '-t', 'devices/sensor-1/t', '-m', '1'],
        dir!,
      );
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toMatch(/Connection Refused: (bad user name or password|not authori[sz]ed)/);
    });
  });

  it('every package imports from an ES module and works', async () => {
    writeFileSync(
      join(dir!, 'esm.mjs'),
      `const names = ${JSON.stringify(PACKAGES)};
const modules = Object.fromEntries(await Promise.all(names.map(async (name) => [name, await import(name)])));
for (const [name, module] of Object.entries(modules)) if (Object.keys(module).length === 0) throw new Error(name + ' exports nothing');
const { matchTopic } = modules['@mqtt-warden/topic'];
const { parsePolicy } = modules['@mqtt-warden/policy'];
const { hashPassword, verifyPassword } = modules['@mqtt-warden/password'];
const { expectDenied } = modules['@mqtt-warden/testing'];
const policy = parsePolicy('version: 1\\nusers: { a: [r] }\\nroles:\\n  r:\\n    rules: [{ effect: allow, actions: publish, topics: "a/#" }]\\n');
expectDenied(policy, { username: 'a', clientId: 'a' }, { publish: 'b/1' });
console.log(names.length, matchTopic('a/+', 'a/b'), await verifyPassword('pw-1234567', await hashPassword('pw-1234567')));
`,
    );
    const result = await run(process.execPath, ['esm.mjs'], dir!);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe(`${PACKAGES.length} true true`);
  });

  it('the CommonJS-capable packages load their CommonJS build from require()', async () => {
    writeFileSync(
      join(dir!, 'cjs.cjs'),
      `const names = ${JSON.stringify(COMMONJS)};
for (const name of names) {
  const file = require.resolve(name);
  if (!file.includes('/dist/cjs/')) throw new Error(name + ' resolved to ' + file);
}
const { matchTopic } = require('@mqtt-warden/topic');
const { WardenError } = require('@mqtt-warden/core');
const { parsePolicy } = require('@mqtt-warden/policy');
const { expectAllowed } = require('@mqtt-warden/testing');
const policy = parsePolicy('version: 1\\nusers: { a: [r] }\\nroles:\\n  r:\\n    rules: [{ effect: allow, actions: publish, topics: "a/#" }]\\n');
expectAllowed(policy, { username: 'a', clientId: 'a' }, { publish: 'a/1' });
console.log(matchTopic('a/#', 'a/b/c'), typeof WardenError);
`,
    );
    const result = await run(process.execPath, ['cjs.cjs'], dir!);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe('true function');
  });

  it.each(['node16', 'bundler'])(
    'a TypeScript consumer type-checks with moduleResolution %s',
    { timeout: 180_000 },
    async (resolution) => {
      const imports = PACKAGES.map((name, index) => `import * as p${index} from '${name}';`).join('\n');
      writeFileSync(
        join(dir!, `consumer-${resolution}.ts`),
        `${imports}
import { matchTopic } from '@mqtt-warden/topic';
import { createGuard, type Principal } from '@mqtt-warden/core';
import { parsePolicy } from '@mqtt-warden/policy';
import { createMemoryStore, createPasswordAuthenticator } from '@mqtt-warden/password';
import { expectAllowed } from '@mqtt-warden/testing';
import { createWardenServer, loadServerConfig } from '@mqtt-warden/server';
const policy = parsePolicy('version: 1');
const guard = createGuard({ authenticators: [createPasswordAuthenticator({ store: createMemoryStore() })], authorizer: policy });
const principal: Principal | undefined = undefined;
const matched: boolean = matchTopic('a/+', 'a/b');
export const used = [${PACKAGES.map((_, index) => `p${index}`).join(', ')}, guard, principal, matched, expectAllowed, createWardenServer, loadServerConfig];
// @ts-expect-error: a wrong argument type must be an error, or nothing is checked
matchTopic(1, 'a');
`,
      );
      const module = resolution === 'node16' ? 'node16' : 'esnext';
      writeFileSync(
        join(dir!, `tsconfig.${resolution}.json`),
        JSON.stringify({
          compilerOptions: {
            module,
            moduleResolution: resolution,
            target: 'es2022',
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            types: ['node'],
          },
          files: [`consumer-${resolution}.ts`],
        }),
      );
      const tsc = await run(
        process.execPath,
        ['node_modules/typescript/bin/tsc', '-p', `tsconfig.${resolution}.json`],
        dir!,
        170_000,
      );
      // Our typings are checked in full (skipLibCheck off); a third party's own typing errors are theirs.
      const ours = (tsc.stdout + tsc.stderr)
        .split('\n')
        .filter((line) => line !== '' && !/^node_modules\/(?!@mqtt-warden\/)/.test(line));
      expect(ours).toEqual([]);
    },
  );
});

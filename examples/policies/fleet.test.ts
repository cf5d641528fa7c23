import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

// Runs the example policy and its suite through the built `mqtt-warden` binary, as CI and users do.
const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'packages/server/dist/bin.js');
const run = async (...args: string[]) => {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [cli, ...args], { cwd: root });
    return { code: 0, stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
};

// `pnpm test` (and CI) builds with `tsc -b` before running vitest.
beforeAll(() => {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run "pnpm run build" first`);
});

describe('examples/policies through the CLI', () => {
  it('validates the fleet policy', async () => {
    expect(await run('validate', 'examples/policies/fleet.yaml')).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^OK /),
    });
  });

  it('passes the fleet suite and writes JUnit XML', async () => {
    const junit = join(await mkdtemp(join(tmpdir(), 'fleet-')), 'junit.xml');
    const r = await run('test', 'examples/policies/fleet.test.yaml', '--junit', junit);
    expect(r).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^\d+ passed, 0 failed \(1 suite\)\n$/),
    });
    expect(await readFile(junit, 'utf8')).toContain('failures="0"');
  });

  it('answers check with exit 0 for allow and 1 for deny', async () => {
    const dashboard = [
      '--policy',
      'examples/policies/fleet.yaml',
      '--client-id',
      'dash-1',
      '--method',
      'jwt',
      '--attr',
      'scope=dashboard',
      '--attr',
      'claims.tenant=acme',
    ];
    const allow = await run('check', ...dashboard, '--receive', 'tenants/acme/devices/dev-1/telemetry');
    expect(allow.code).toBe(0);
    expect(allow.stdout).toMatch(/^ALLOW receive/);
    const deny = await run('check', ...dashboard, '--receive', 'tenants/acme/devices/dev-1/secrets/wifi');
    expect(deny.code).toBe(1);
    expect(deny.stdout).toContain(
      'denied by rule "no-secrets" of role dashboard (examples/policies/fleet.yaml:',
    );
  });
});

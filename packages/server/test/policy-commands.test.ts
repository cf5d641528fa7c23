import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { run as check } from '../src/commands/check.js';
import { run as test } from '../src/commands/test.js';
import { run as validate } from '../src/commands/validate.js';

const examples = fileURLToPath(new URL('../../../examples/policies/', import.meta.url));
const fleet = join(examples, 'fleet.yaml');

/** Runs a command in-process and captures what it prints. */
async function capture(command: (args: string[]) => Promise<number>, args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
  const code = await command(args);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('mqtt-warden validate', () => {
  it('prints OK and exits 0 for a valid policy', async () => {
    const r = await capture(validate, [fleet]);
    expect(r).toMatchObject({ code: 0, out: `OK ${fleet}: 3 roles, 8 rules, deny-overrides` });
  });

  it('prints each located error and exits 2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cli-'));
    const file = join(dir, 'bad.yaml');
    await writeFile(
      file,
      'version: 1\nusers: { u: [nope] }\nroles:\n  r: { rules: [{ effect: allow, actions: publish, topics: "a/#/b" }] }\n',
    );
    const r = await capture(validate, [file]);
    expect(r.code).toBe(2);
    expect(r.err.split('\n')).toEqual([
      `${file}:2:14: unknown role "nope"; define it under "roles" or use one of: r`,
      expect.stringMatching(new RegExp(`^${file}:4:59: invalid topic filter "a/#/b"`)),
    ]);
    await writeFile(file, 'version: 1\nusers: { u: [nope] }\nroles: {}\n');
    expect((await capture(validate, [file])).err).toMatch(new RegExp(`^${file}:2:14: unknown role "nope"`));
  });

  it('exits 2 on usage errors and missing files', async () => {
    expect((await capture(validate, [])).code).toBe(2);
    expect((await capture(validate, ['--bogus', fleet])).code).toBe(2);
    const missing = await capture(validate, ['/nonexistent/p.yaml']);
    expect(missing.code).toBe(2);
    expect(missing.err).toBe(
      'cannot read the policy file /nonexistent/p.yaml: it does not exist; check the path, or write a starter config, policy and users file with "mqtt-warden init DIR"',
    );
  });

  it('says a directory is not a policy file, and that an unquoted # started a comment', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cli-'));
    const asDirectory = await capture(validate, [dir]);
    expect(asDirectory).toMatchObject({
      code: 2,
      err: `cannot read the policy file ${dir}: it is a directory; give the path of the file inside it`,
    });
    const file = join(dir, 'hash.yaml');
    await writeFile(
      file,
      'version: 1\nusers: { u: [r] }\nroles:\n  r:\n    rules:\n      - effect: allow\n        actions: publish\n        topics: #/a\n',
    );
    const comment = await capture(validate, [file]);
    expect(comment.code).toBe(2);
    expect(comment.err).toMatch(new RegExp(`^${file}:8:17: "roles\\.r\\.rules\\.0\\.topics"`));
    expect(comment.err).toMatch(
      /; in YAML, # after a space starts a comment, so the value is empty: quote it, e\.g\. "#" or "devices\/#"$/,
    );
  });
});

describe('mqtt-warden check', () => {
  const device = [
    '--client-id',
    'dev-1',
    '--method',
    'x509',
    '--attr',
    'cert.cn=dev-1',
    '--attr',
    'cert.o=acme',
    '--attr',
    'cert.ou=devices',
  ];

  it('prints ALLOW with the deciding rule and exits 0', async () => {
    const r = await capture(check, [
      '--policy',
      fleet,
      ...device,
      '--publish',
      'tenants/acme/devices/dev-1/telemetry',
      '--qos',
      '1',
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ALLOW publish "tenants\/acme\/devices\/dev-1\/telemetry" qos 1/);
    expect(r.out).toContain('rule "device-telemetry" of role device');
    expect(r.out).toContain('fleet.yaml:35:9');
  });

  it('prints DENY and exits 1, including for retained telemetry', async () => {
    const r = await capture(check, [
      '--policy',
      fleet,
      ...device,
      '--publish',
      'tenants/acme/devices/dev-1/telemetry',
      '--retain',
    ]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^DENY publish/);
    expect(r.out).toContain('the rule is for non-retained messages only');
  });

  it('collects repeated --attr keys into a list (scopes) and emits JSON', async () => {
    const r = await capture(check, [
      '--policy',
      fleet,
      '--client-id',
      'dash-1',
      '--method',
      'jwt',
      '--attr',
      'scope=openid',
      '--attr',
      'scope=dashboard',
      '--attr',
      'claims.tenant=acme',
      '--subscribe',
      'tenants/acme/devices/+/telemetry',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out);
    expect(json.allowed).toBe(true);
    expect(json.decision.rule.id).toBe('role:dashboard#dashboard-read');
    expect(json.explanation.principal.roles).toEqual(['dashboard']);
  });

  it('checks connect rules', async () => {
    expect(
      (await capture(check, ['--policy', fleet, '--client-id', 'laptop', '--method', 'jwt', '--connect']))
        .code,
    ).toBe(1);
    expect(
      (await capture(check, ['--policy', fleet, '--client-id', 'dev-9', '--method', 'x509', '--connect']))
        .code,
    ).toBe(0);
  });

  it('says when the client-id binding refused a connect, and which rule it was', async () => {
    const quickstart = fileURLToPath(new URL('../../../examples/quickstart/policy.yaml', import.meta.url));
    const who = ['--policy', quickstart, '--username', 'demo', '--connect'];
    const refused = await capture(check, [...who, '--client-id', 'sensor-1']);
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(/^DENY connect/);
    expect(refused.out).toContain(
      'client id "sensor-1" is not bound to principal "demo"; it may use "demo" (role device',
    );
    expect(refused.out).toMatch(/policy\.yaml:\d+:\d+/);
    const own = await capture(check, [...who, '--client-id', 'demo']);
    expect(own.code).toBe(0);
    expect(own.out).toContain('bound to this principal by "${principal}" (role device');
  });

  it('exits 2 on usage and policy errors', async () => {
    for (const args of [
      ['--policy', fleet, '--username', 'u'],
      ['--policy', fleet, '--publish', 'a', '--receive', 'b'],
      ['--username', 'u', '--publish', 'a'],
      ['--policy', fleet, '--publish', 'a', '--qos', '3'],
      ['--policy', fleet, '--publish', 'a', '--attr', 'novalue'],
      ['--policy', '/nonexistent.yaml', '--publish', 'a'],
    ]) {
      expect((await capture(check, args)).code, args.join(' ')).toBe(2);
    }
  });
});

describe('mqtt-warden test', () => {
  it('passes the example suite, writing JUnit XML', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cli-'));
    const junit = join(dir, 'junit.xml');
    const r = await capture(test, [join(examples, 'fleet.test.yaml'), '--junit', junit]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^20 passed, 0 failed \(1 suite\)$/);
    expect(await readFile(junit, 'utf8')).toContain('tests="20" failures="0"');
  });

  it('prints failures with their explanation and exits 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cli-'));
    await writeFile(
      join(dir, 's.yaml'),
      [
        `policy: ${fleet}`,
        'cases:',
        '  - { name: wrong expectation, who: { clientId: dev-1, method: x509 }, what: { publish: x }, expect: allow }',
      ].join('\n'),
    );
    const r = await capture(test, [join(dir, 's.yaml')]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`FAIL ${join(dir, 's.yaml')}:3 wrong expectation`);
    expect(r.out).toContain('expected allow, got deny');
    expect(r.out).toContain('  DENY publish "x"');
    expect(r.out).toMatch(/0 passed, 1 failed \(1 suite\)$/);
  });

  it('exits 2 when a suite cannot load', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cli-'));
    await writeFile(join(dir, 's.yaml'), 'policy: p.yaml\ncases: []\n');
    const r = await capture(test, [join(dir, 's.yaml'), join(examples, 'fleet.test.yaml')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('s.yaml:2:8: "cases": write at least one case');
    expect(r.out).toContain('20 passed, 0 failed (1 suite, 1 could not load)');
    expect((await capture(test, [])).code).toBe(2);
  });

  it('reports a suite whose policy cannot load as an errored case in the JUnit, never 0 tests', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cli-'));
    const suite = join(dir, 's.yaml');
    await writeFile(
      suite,
      'policy: missing.yaml\ncases:\n  - { name: c, who: { clientId: a }, what: { publish: a }, expect: allow }\n',
    );
    const junit = join(dir, 'junit.xml');
    const r = await capture(test, [suite, '--junit', junit]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`cannot read the policy file ${join(dir, 'missing.yaml')}: it does not exist`);
    const xml = await readFile(junit, 'utf8');
    expect(xml).toContain('tests="1" failures="0" errors="1"');
    expect(xml).toMatch(/<error message="the suite could not load"[^>]*>cannot read the policy file /);
  });
});

import { AssertionError } from 'node:assert';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PolicyError } from '@mqtt-warden/policy';
import {
  check,
  expectAllowed,
  expectDenied,
  junitXml,
  loadPolicyForTest,
  runSuite,
  toPrincipal,
} from '@mqtt-warden/testing';
import { describe, expect, it } from 'vitest';

const examples = fileURLToPath(new URL('../../../examples/policies/', import.meta.url));
const policy = loadPolicyForTest(join(examples, 'fleet.yaml'));
const device = {
  clientId: 'dev-1',
  method: 'x509',
  attributes: { 'cert.cn': 'dev-1', 'cert.o': 'acme', 'cert.ou': 'devices' },
};

describe('assertion helpers', () => {
  it('pass silently when the policy agrees', () => {
    expectAllowed(policy, device, { publish: 'tenants/acme/devices/dev-1/telemetry', qos: 1 });
    expectDenied(policy, device, { publish: 'tenants/acme/devices/dev-2/telemetry' });
    expectAllowed(policy, device, 'connect');
    expectDenied(policy, { clientId: 'x', method: 'x509' }, 'connect');
  });

  it('throw an AssertionError carrying the explanation when it does not', () => {
    let error: unknown;
    try {
      expectAllowed(policy, device, { publish: 'tenants/acme/devices/dev-2/telemetry' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AssertionError);
    const e = error as AssertionError;
    expect(e.actual).toBe('deny');
    expect(e.expected).toBe('allow');
    expect(e.message).toContain(
      'expected dev-1 to be allowed publish "tenants/acme/devices/dev-2/telemetry"',
    );
    expect(e.message).toContain('DENY publish');
    expect(() => expectDenied(policy, device, { publish: 'tenants/acme/devices/dev-1/state' })).toThrow(
      /rule "device-state" of role device \(.*fleet\.yaml:41:9\)/,
    );
  });

  it('check returns the decision and text; toPrincipal fills defaults', () => {
    const r = check(policy, device, { subscribe: '$share/g/tenants/acme/devices/dev-1/commands/#' });
    expect(r.allowed).toBe(true);
    expect(r.explanation?.decision.rule?.id).toBe('role:device#device-commands');
    expect(toPrincipal({ username: 'u' })).toEqual({
      id: 'u',
      clientId: 'u',
      username: 'u',
      method: 'password',
      roles: [],
      attributes: {},
    });
  });
});

describe('arguments checked at run time (plain JavaScript callers)', () => {
  // Cast as a JavaScript caller would pass them: the types would refuse these.
  const js = (value: unknown) => value as never;

  it('names an unknown action key instead of passing silently', () => {
    // Without the check, a denial of a misspelled key passed: expectDenied must not be satisfied by a typo.
    expect(() =>
      expectDenied(policy, device, js({ publsh: 'tenants/acme/devices/dev-2/telemetry' })),
    ).toThrow(/^what: unknown key "publsh" \(did you mean "publish"\?\)/);
    expect(() => check(policy, device, js({ publish: 'a', subscribe: 'b' }))).toThrow(
      /what: write exactly one action key, not publish and subscribe/,
    );
    expect(() => check(policy, device, js({ qos: 1 }))).toThrow(
      /what: write exactly one action key, not none/,
    );
  });

  it('names an unknown action name instead of a TypeError', () => {
    expect(() => expectAllowed(policy, device, js('conect'))).toThrow(
      /^what: unknown action "conect" \(did you mean "connect"\?\)/,
    );
    expect(() => check(policy, device, js(null))).toThrow(/^what: write "connect" or one of/);
  });

  it('names a mistake in who and in the request values', () => {
    expect(() => check(policy, js({ usename: 'dev-1' }), 'connect')).toThrow(
      /who: unknown key "usename" \(did you mean "username"\?\)/,
    );
    expect(() => check(policy, device, js({ publish: 'a', qos: 3 }))).toThrow(/what: .*qos/);
  });
});

describe('runSuite and junitXml', () => {
  it('runs the example suite', async () => {
    const result = await runSuite(join(examples, 'fleet.test.yaml'));
    expect(result.failed).toBe(0);
    expect(result.passed).toBe(result.cases.length);
    expect(result.cases.length).toBeGreaterThanOrEqual(15);
  });

  it('reports failing cases with line and explanation, and JUnit XML escapes them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'suite-'));
    await writeFile(
      join(dir, 'p.yaml'),
      'version: 1\nusers: { u: [r] }\nroles: { r: { rules: [{ effect: allow, actions: publish, topics: a }] } }\n',
    );
    const suite = join(dir, 's.yaml');
    await writeFile(
      suite,
      [
        'policy: p.yaml',
        'cases:',
        '  - { name: ok, who: { username: u }, what: { publish: a }, expect: allow }',
        '  - { name: "wrong <&>", who: { username: u }, what: { publish: b }, expect: allow }',
      ].join('\n'),
    );
    const result = await runSuite(suite);
    expect([result.passed, result.failed]).toEqual([1, 1]);
    expect(result.cases[1]).toMatchObject({ passed: false, expected: 'allow', actual: 'deny', line: 4 });
    const xml = junitXml([result]);
    expect(xml).toContain('<testsuites name="mqtt-warden policy tests" tests="2" failures="1" errors="0">');
    expect(xml).toContain('name="wrong &lt;&amp;&gt;"');
    expect(xml).toContain(
      '<failure message="expected allow, got deny" type="PolicyAssertion">DENY publish &quot;b&quot;',
    );
  });

  it('rejects an invalid suite with located errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'suite-'));
    const suite = join(dir, 's.yaml');
    await writeFile(
      suite,
      'policy: p.yaml\ncases:\n  - { name: x, who: { usrname: u }, what: { publish: a }, expect: allow }\n',
    );
    await expect(runSuite(suite)).rejects.toMatchObject({
      code: 'ERR_SUITE_INVALID',
      issues: [{ line: 3, column: 23, message: expect.stringContaining('did you mean "username"') }],
    });
    await writeFile(
      suite,
      'policy: p.yaml\ncases:\n  - { name: x, who: {}, what: { publish: a }, expect: allow }\n',
    );
    await expect(runSuite(suite)).rejects.toBeInstanceOf(Error);
    await writeFile(join(dir, 'p.yaml'), 'version: 1\nroles: {}\nusers: { u: [nope] }\n');
    await expect(runSuite(suite)).rejects.toBeInstanceOf(PolicyError);
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGuard, type Principal } from '@mqtt-warden/core';
import { watchPolicy } from '@mqtt-warden/policy';
import { MemoryRegistry } from '@mqtt-warden/registry';
import { afterEach, describe, expect, it } from 'vitest';
import { followActivePolicy } from '../src/active-policy.js';

const context = { actor: 'test' };
const FILE_POLICY = `version: 1
users: { sensor-1: [device] }
roles:
  device:
    rules: [{ effect: allow, actions: publish, topics: "file/#" }]
`;
const VERSION = (topic: string) => `version: 1
users: { sensor-1: [device] }
roles:
  device:
    rules:
      - { effect: allow, actions: publish, topics: "${topic}" }
`;
const principal: Principal = {
  id: 'sensor-1',
  username: 'sensor-1',
  clientId: 'sensor-1',
  method: 'password',
  roles: [],
  attributes: {},
};
const publish = (topic: string) => ({ action: 'publish' as const, topic, qos: 0 as const });

function recordingLog() {
  const lines: { level: string; object: object; message: string }[] = [];
  return {
    lines,
    info: (object: object, message: string) => lines.push({ level: 'info', object, message }),
    error: (object: object, message: string) => lines.push({ level: 'error', object, message }),
  };
}

describe('followActivePolicy', () => {
  const closers: (() => void)[] = [];
  afterEach(() => {
    for (const close of closers.splice(0)) close();
  });

  async function setUp(store: Pick<MemoryRegistry, 'activePolicyVersion' | 'onChange'>) {
    const dir = mkdtempSync(join(tmpdir(), 'warden-active-policy-'));
    writeFileSync(join(dir, 'policy.yaml'), FILE_POLICY);
    const policy = await watchPolicy(join(dir, 'policy.yaml'));
    const guard = createGuard({ authenticators: [], authorizer: policy });
    const log = recordingLog();
    const active = await followActivePolicy({ store, policy, log });
    closers.push(
      () => active.close(),
      () => policy.close(),
      () => guard.close(),
    );
    return { policy, guard, log, active };
  }

  it('applies the file policy while the store has no active version', async () => {
    const { guard, active } = await setUp(new MemoryRegistry());
    expect(active.version).toBeUndefined();
    expect(guard.authorize(principal, publish('file/a')).allowed).toBe(true);
  });

  it('enforces the active version over the file, switches on activation, and the guard cache drops', async () => {
    const store = new MemoryRegistry();
    const v1 = await store.addPolicyVersion({ text: VERSION('v1/#'), format: 'yaml' }, context);
    await store.activatePolicyVersion(v1.version, context);
    const { guard, policy, active } = await setUp(store);
    expect(active.version).toBe(v1.version);
    expect(guard.authorize(principal, publish('file/a')).allowed).toBe(false);
    expect(guard.authorize(principal, publish('v1/a')).allowed).toBe(true);
    // Explanations point into the version's text.
    const rule = policy.explain(principal, publish('v1/a')).decision.rule;
    expect(rule?.source).toMatchObject({ file: `policy v${v1.version}`, line: 6 });

    const v2 = await store.addPolicyVersion({ text: VERSION('v2/#'), format: 'yaml' }, context);
    await store.activatePolicyVersion(v2.version, context);
    await active.refresh();
    expect(active.version).toBe(v2.version);
    // The cached allow of v1/a is gone with the switch.
    expect(guard.authorize(principal, publish('v1/a')).allowed).toBe(false);
    expect(guard.authorize(principal, publish('v2/a')).allowed).toBe(true);
  });

  it('keeps the previous policy when the active version does not compile, logging the code', async () => {
    const store = new MemoryRegistry();
    const v1 = await store.addPolicyVersion({ text: VERSION('v1/#'), format: 'yaml' }, context);
    await store.activatePolicyVersion(v1.version, context);
    const { guard, log, active } = await setUp(store);
    const broken = await store.addPolicyVersion(
      { text: 'version: 1\nroles: [oops\n', format: 'yaml' },
      context,
    );
    await store.activatePolicyVersion(broken.version, context);
    await active.refresh();
    expect(active.version).toBe(v1.version);
    expect(guard.authorize(principal, publish('v1/a')).allowed).toBe(true);
    expect(log.lines).toContainEqual({
      level: 'error',
      object: { version: broken.version, code: 'ERR_POLICY_INVALID' },
      message: 'active policy version does not compile; keeping the previous policy',
    });
  });

  it('denies everything while the store cannot say which version is active', async () => {
    const down = {
      activePolicyVersion: () =>
        Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
      onChange: () => () => {},
    };
    const { guard, log } = await setUp(down as unknown as MemoryRegistry);
    expect(guard.authorize(principal, publish('file/a')).allowed).toBe(false);
    expect(log.lines[0]).toMatchObject({ level: 'error', object: { code: 'ECONNREFUSED' } });
  });
});

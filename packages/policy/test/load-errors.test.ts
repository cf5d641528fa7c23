import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compilePolicy, loadPolicy, PolicyError, type PolicyIssue, parsePolicy } from '@mqtt-warden/policy';
import { describe, expect, it } from 'vitest';

function issuesOf(text: string): PolicyIssue[] {
  try {
    parsePolicy(text, { file: 'p.yaml' });
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as PolicyError).code).toBe('ERR_POLICY_INVALID');
    return [...(error as PolicyError).issues];
  }
  throw new Error('the policy loaded but should not have');
}

const valid = [
  'version: 1',
  'users: { alice: [device] }',
  'roles:',
  '  device:',
  '    rules:',
  '      - effect: allow',
  '        actions: [publish]',
  '        topics: ["devices/${clientid}/telemetry"]',
];

describe('located load errors', () => {
  it('loads a valid policy', () => {
    const p = parsePolicy(valid.join('\n'), { file: 'p.yaml' });
    expect(p.roles).toEqual(['device']);
    expect(p.ruleCount).toBe(1);
    expect(p.combining).toBe('deny-overrides');
  });

  it('reports bad YAML with its position', () => {
    const issues = issuesOf('version: 1\nroles: [a, b\nusers: {}\n');
    expect(issues[0]).toMatchObject({ file: 'p.yaml', line: 3, column: 1 });
    expect(issues[0]!.message).toMatch(/^invalid YAML/);
  });

  it('reports only the first YAML errors, with a hint for unquoted topics', () => {
    const issues = issuesOf(
      valid.join('\n').replace('["devices/${clientid}/telemetry"]', '[devices/${clientid}/#, a]'),
    );
    expect(issues.length).toBeLessThanOrEqual(3);
    expect(issues[0]).toMatchObject({ line: 8 });
    expect(issues[0]!.message).toContain('quote topics that contain ${...}, # or +');
  });

  it('reports an unknown key at the key, with a suggestion', () => {
    const text = valid.join('\n').replace('actions:', 'acions:');
    const [missing, issue] = issuesOf(text);
    expect(missing).toMatchObject({
      line: 6,
      column: 9,
      message: '"roles.device.rules.0.actions" is required',
    });
    expect(issue).toMatchObject({ line: 7, column: 9, path: ['roles', 'device', 'rules', 0, 'acions'] });
    expect(issue!.message).toContain('unknown key "acions" (did you mean "actions"?)');
    expect(issue!.message).toContain('allowed keys: name, description, effect, actions, topics');
  });

  it('names each of two unknown keys of one mapping on its own line', () => {
    const issues = issuesOf(`${valid.join('\n')}\nfoo: 1\nbar: 2\n`);
    expect(issues.map((i) => [i.line, i.path.join('.'), i.message.split(';')[0]])).toEqual([
      [valid.length + 1, 'foo', 'unknown key "foo"'],
      [valid.length + 2, 'bar', 'unknown key "bar"'],
    ]);
  });

  it('reports a missing required key and a bad enum value', () => {
    const text = valid
      .join('\n')
      .replace('effect: allow', 'effect: permit')
      .replace('version: 1', 'version: 2');
    const issues = issuesOf(text);
    expect(issues.map((i) => [i.line, i.column])).toEqual([
      [1, 10],
      [6, 17],
    ]);
    expect(issues[0]!.message).toBe('"version": write "version: 1" (the only policy format version)');
    expect(issues[1]!.message).toBe('"roles.device.rules.0.effect" must be one of: "allow", "deny"');
  });

  it('reports an invalid topic filter at the topic', () => {
    const [issue] = issuesOf(valid.join('\n').replace('/telemetry"]', '/#/x", "ok"]'));
    expect(issue).toMatchObject({ line: 8, column: 18, path: ['roles', 'device', 'rules', 0, 'topics', 0] });
    expect(issue!.message).toMatch(/^invalid topic filter "devices\/\$\{clientid\}\/#\/x"/);
  });

  it('reports an unknown placeholder and what to write instead', () => {
    const [issue] = issuesOf(valid.join('\n').replace('${clientid}', '${client_id}'));
    expect(issue).toMatchObject({ line: 8, column: 18 });
    expect(issue!.message).toContain('unknown placeholder ${client_id}');
    expect(issue!.message).toContain('${clientid}');
  });

  it('reports an unknown role where it is referenced', () => {
    const [issue] = issuesOf(valid.join('\n').replace('alice: [device]', 'alice: [devise]'));
    expect(issue).toMatchObject({ line: 2, column: 18, path: ['users', 'alice', 0] });
    expect(issue!.message).toContain('unknown role "devise" (did you mean "device"?)');
  });

  it('reports duplicate role names (YAML keys) and duplicate rule names', () => {
    const dupKey = issuesOf([...valid, '  device:', '    rules: []'].join('\n'));
    expect(dupKey[0]).toMatchObject({ line: 9, column: 3 });
    expect(dupKey[0]!.message).toMatch(/^duplicate key/);

    const dupName = issuesOf(
      [
        'version: 1',
        'roles:',
        '  a: { rules: [{ name: r1, effect: allow, actions: all, topics: x }] }',
        '  b: { rules: [{ name: r1, effect: allow, actions: all, topics: y }] }',
      ].join('\n'),
    );
    expect(dupName).toHaveLength(1);
    expect(dupName[0]).toMatchObject({ line: 4, column: 24 });
    expect(dupName[0]!.message).toContain('duplicate name "r1" (already used at roles.a.rules.0.name)');
  });

  it('reports every mistake at once, sorted by position, in the message too', () => {
    const text = valid
      .join('\n')
      .replace('effect: allow', 'effect: 1')
      .replace('actions: [publish]', 'actions: [pub]');
    try {
      parsePolicy(text, { file: 'p.yaml' });
      expect.unreachable();
    } catch (error) {
      const e = error as PolicyError;
      expect(e.issues).toHaveLength(2);
      expect(e.message).toContain('p.yaml:6:17: ');
      expect(e.message).toContain('p.yaml:7:19: "roles.device.rules.0.actions.0" must be one of: "publish",');
    }
  });

  it('explains union mistakes by the branch that fits', () => {
    const [tls] = issuesOf(valid.join('\n') + '\n        tls: yes');
    expect(tls).toMatchObject({
      line: 9,
      column: 14,
      message: '"roles.device.rules.0.tls": write true, false or "required"',
    });
    const [qos] = issuesOf(valid.join('\n') + '\n        qos: 3');
    expect(qos!.message).toBe('"roles.device.rules.0.qos" must be one of: 0, 1, 2');
  });

  it('rejects invalid CIDR blocks', () => {
    const [issue] = issuesOf(valid.join('\n') + '\n        from: [10.0.0.0/33, "::1/128"]');
    expect(issue).toMatchObject({ line: 9, column: 16 });
    expect(issue!.message).toContain('CIDR');
  });

  it('reads JSON with duplicate keys detected and positions reported', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'policy-'));
    const file = join(dir, 'p.json');
    await writeFile(file, '{\n  "version": 1,\n  "roles": {},\n  "roles": {}\n}\n');
    await expect(loadPolicy(file)).rejects.toMatchObject({ issues: [{ file, line: 4, column: 3 }] });
    await writeFile(file, JSON.stringify({ version: 1, roles: { r: { rules: [] } } }));
    expect((await loadPolicy(file)).roles).toEqual(['r']);
  });

  it('compilePolicy validates plain objects (paths, no lines)', () => {
    expect(() => compilePolicy({ version: 1, roles: {}, extra: true })).toThrow(PolicyError);
    expect(() => compilePolicy(null)).toThrow(/must be a mapping/);
    expect(compilePolicy({ version: 1, roles: { r: { rules: [] } } }).roles).toEqual(['r']);
  });
});

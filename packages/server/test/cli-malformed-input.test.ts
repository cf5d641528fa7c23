import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// Property: every mqtt-warden command given bad arguments, unreadable or binary files, huge input,
// unicode or NUL exits 2 (1 where the command documents a refusal) with a readable message on
// stderr: no stack trace, no crash, and `check` never prints ALLOW. Runs the built CLI as a user does.

const CLI = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const FLEET = fileURLToPath(new URL('../../../examples/policies/fleet.yaml', import.meta.url));
const QUICKSTART = fileURLToPath(new URL('../../../examples/quickstart/', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'warden-cli-bad-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string | Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
/** Bytes that are neither UTF-8 nor YAML: every value 0-255, including NUL and ESC. */
const BINARY = Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 167 + 13) % 256));
const binary = file('binary.yaml', BINARY);
const binaryJson = file('binary.json', BINARY);
const withNul = file('nul.yaml', 'version: 1\nroles:\n  r\u0000: { rules: [] }\n');
const huge = file('huge.yaml', `version: 1\nroles: {}\nusers: "${'x'.repeat(4_000_000)}"\n`);
const folder = join(dir, 'a-directory.yaml');
mkdirSync(folder);
const missing = join(dir, 'missing.yaml');
const protoPolicy = file(
  'proto.yaml',
  `version: 1\nusers: { __proto__: [r] }\nroles: { r: { rules: [] } }\n`,
);
const unicode = file('ünïcødé‮.yaml', 'version: 1\nroles: { "rôle‮": { rules: [] } }\n');
const fromPolicy = file(
  'from.yaml',
  [
    'version: 1',
    'bindings: [{ when: { username: "*" }, roles: [r] }]',
    'roles:',
    '  r:',
    '    rules:',
    '      - { effect: allow, actions: publish, topics: "a/#" }',
    '      - { effect: deny, actions: publish, topics: "a/secret", from: 192.168.0.0/16 }',
  ].join('\n'),
);
const suite = (name: string, text: string) => file(name, text);

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: string[], stdin: string | Buffer = ''): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(stdin);
  });
}

/** A message for people: present, short, no stack frames, no raw control characters. */
function expectReadableFailure(run: Run, code = 2) {
  expect(run.code, run.stderr).toBe(code);
  expect(run.stderr.trim()).not.toBe('');
  expect(run.stderr).not.toMatch(/^\s+at .+[:(]/m);
  expect(run.stderr).not.toMatch(/node:internal|Error: .*\n\s+at /);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them
  expect(run.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
  expect(run.stderr.length).toBeLessThan(20_000);
  expect(run.stdout).not.toMatch(/^ALLOW/m);
}

const cases: [string, string[], string?][] = [
  ['no command', []],
  ['an unknown command', ['nope']],
  ['an unknown command named like a prototype member', ['constructor']],
  ['validate: no file', ['validate']],
  ['validate: two files', ['validate', FLEET, FLEET]],
  ['validate: an unknown option', ['validate', '--bogus', FLEET]],
  ['validate: a missing file', ['validate', missing]],
  ['validate: a directory', ['validate', folder]],
  ['validate: a binary file', ['validate', binary]],
  ['validate: NUL in the file', ['validate', withNul]],
  ['validate: a 4 MB scalar', ['validate', huge]],
  ['validate: a __proto__ key', ['validate', protoPolicy]],
  ['check: a missing policy', ['check', '--policy', missing, '--publish', 'a']],
  ['check: a directory as policy', ['check', '--policy', folder, '--publish', 'a']],
  ['check: a binary policy', ['check', '--policy', binary, '--publish', 'a']],
  ['check: NUL in the policy', ['check', '--policy', withNul, '--publish', 'a']],
  ['check: a __proto__ key in the policy', ['check', '--policy', protoPolicy, '--publish', 'a']],
  ['check: an unknown option', ['check', '--policy', FLEET, '--publish', 'a', '--superuser']],
  ['check: two actions', ['check', '--policy', FLEET, '--publish', 'a', '--subscribe', 'a']],
  ['check: QoS 3', ['check', '--policy', FLEET, '--publish', 'a', '--qos', '3']],
  ['check: QoS 1x', ['check', '--policy', FLEET, '--publish', 'a', '--qos', '1x']],
  ['check: an --attr without =', ['check', '--policy', FLEET, '--publish', 'a', '--attr', 'cert.cn']],
  [
    'check: an address that is not one',
    ['check', '--policy', fromPolicy, '--publish', 'a/secret', '--from', '192.168.1.1x'],
  ],
  ['check: an empty address', ['check', '--policy', fromPolicy, '--publish', 'a/secret', '--from', '']],
  ['test: no suite', ['test']],
  ['test: a missing suite', ['test', missing]],
  ['test: a directory', ['test', folder]],
  ['test: a binary suite', ['test', binary]],
  ['test: NUL in the suite', ['test', withNul]],
  [
    'test: a __proto__ key in a case',
    [
      'test',
      suite(
        'proto-suite.yaml',
        `policy: ${FLEET}\ncases:\n  - { name: x, who: { clientId: c, attributes: { __proto__: { polluted: 1 } } }, what: { publish: a }, expect: deny }\n`,
      ),
    ],
  ],
  [
    'test: a suite whose policy is binary',
    [
      'test',
      suite(
        'bin-policy-suite.yaml',
        `policy: ${binary}\ncases: [{ name: x, who: { clientId: c }, what: { publish: a }, expect: deny }]\n`,
      ),
    ],
  ],
  ['test: --junit into a directory', ['test', join(FLEET, '../fleet.test.yaml'), '--junit', folder]],
  ['passwd: no arguments', ['passwd']],
  ['passwd: a directory', ['passwd', '--stdin', folder, 'alice'], 'a long enough secret\n'],
  ['passwd: a binary users file', ['passwd', '--stdin', binary, 'alice'], 'a long enough secret\n'],
  ['passwd: a binary JSON users file', ['passwd', '--stdin', binaryJson, 'alice'], 'a long enough secret\n'],
  ['passwd: a binary file deleting', ['passwd', '-D', binary, 'alice']],
  [
    'passwd: a control character in the username',
    ['passwd', '--stdin', join(dir, 'u.yaml'), 'a\u001bb'],
    'a long enough secret\n',
  ],
  [
    'passwd: a file in a missing directory',
    ['passwd', '--stdin', join(missing, 'users.yaml'), 'alice'],
    'a long enough secret\n',
  ],
  ['lockout: no action', ['lockout']],
  ['lockout: an unknown action', ['lockout', 'drop', '--config', missing]],
  ['lockout: no config', ['lockout', 'list']],
  ['lockout: a missing config', ['lockout', 'list', '--config', missing]],
  ['lockout: a binary config', ['lockout', 'list', '--config', binary]],
  ['lockout: clear without a key', ['lockout', 'clear', '--config', missing]],
  ['hash: an unknown option', ['hash', '--rounds', '3']],
  ['hash: a cost that is not a number', ['hash', '--time-cost', '1e3']],
  ['hash: a cost out of range', ['hash', '--memory-cost', '99999999999999999999'], 'a long enough secret\n'],
  ['serve: an unknown option', ['serve', '--prot', '1']],
  ['serve: a missing config', ['serve', '--config', missing]],
  ['serve: a directory as config', ['serve', '--config', folder]],
  ['serve: a binary config', ['serve', '--config', binary]],
  ['serve: NUL in the config', ['serve', '--config', withNul]],
  [
    'serve: a __proto__ key in the config',
    [
      'serve',
      '--config',
      file(
        'proto-warden.yaml',
        `__proto__: { polluted: 1 }\npolicy: { file: ${QUICKSTART}policy.yaml }\nauthenticators: [{ type: password, file: ${QUICKSTART}users.yaml }]\n`,
      ),
    ],
  ],
  [
    'serve: a config whose policy is binary',
    [
      'serve',
      '--config',
      file(
        'bin-warden.yaml',
        `listen: { port: 0 }\npolicy: { file: ${binary} }\nauthenticators: [{ type: password, file: ${QUICKSTART}users.yaml }]\n`,
      ),
    ],
  ],
  [
    'serve: a config whose users file is binary',
    [
      'serve',
      '--config',
      file(
        'bin-users-warden.yaml',
        `listen: { port: 0 }\npolicy: { file: ${QUICKSTART}policy.yaml }\nauthenticators: [{ type: password, file: ${binary} }]\n`,
      ),
    ],
  ],
];

// Each case starts the CLI (a Node process, ~2.5 s on a loaded 2-core machine), five at a time.
describe('mqtt-warden with malformed input', { timeout: 90_000 }, () => {
  it.concurrent.each(cases)('%s: exit 2, a readable message, no stack', async (_, args, stdin) => {
    expectReadableFailure(await cli(args, stdin));
  });

  it.concurrent('validate names a unicode file and its unknown key readably', async () => {
    const run = await cli(['validate', unicode]);
    expectReadableFailure(run);
    expect(run.stderr).toContain('ünïcødé');
  });

  it.concurrent('a binary document is quoted briefly, not echoed whole', async () => {
    const run = await cli(['validate', huge]);
    expect(run.stderr).toMatch(/must be a list|must be a mapping/);
    expect(run.stderr.length).toBeLessThan(2_000);
  });

  it.concurrent.each([
    ['a topic name with a wildcard', ['--publish', 'a/#']],
    ['an empty filter', ['--subscribe', '']],
    ['a shared subscription without a group', ['--subscribe', '$share//a']],
    ['a topic longer than 65,535 bytes', ['--publish', `a/${'é'.repeat(40_000)}`]],
  ])('check answers DENY for %s, never ALLOW', async (_, what) => {
    const run = await cli(['check', '--policy', fromPolicy, '--username', 'u', ...what]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^DENY /);
    expect(run.stdout).not.toMatch(/^ALLOW/m);
    expect(run.stderr).toBe('');
  });

  it.concurrent('hash and passwd refuse a huge password by the password rules (exit 1), naming no byte of it', async () => {
    for (const [args, input] of [
      [['hash', '--memory-cost', '1024', '--time-cost', '1'], 'p'.repeat(10_000_000)],
      [['passwd', '--stdin', join(dir, 'huge-users.yaml'), 'alice'], 'p'.repeat(10_000_000)],
    ] as const) {
      const run = await cli([...args], input);
      expectReadableFailure(run, 1);
      expect(run.stderr).toMatch(/at most 256 characters/);
      expect(run.stderr).not.toMatch(/ppppp/);
    }
  });
});

import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { identifyHash, openFileStore, verifyPassword } from '@mqtt-warden/password';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as hash } from '../src/commands/hash.js';
import { type CommandIo, run as passwd } from '../src/commands/passwd.js';

const SECRET = 'violet kettle runs uphill';
const MOSQUITTO_7 =
  '$7$101$kDIfSZUncCbGqBJi$j/F0ZDhBWMrwqcHfI7s6JC+UX5xHZBkdBWiazoqOTu+5lh42IpPjlvFeB6Pa9Z3YgCrMz78SGcq8Spzt1e85yw==';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warden-passwd-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function io(stdin: CommandIo['stdin'] = Readable.from([])) {
  let out = '';
  let err = '';
  const sink = (append: (s: string) => void) => {
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => append(chunk.toString()));
    return stream;
  };
  return {
    io: { stdin, stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) },
    out: () => out,
    err: () => err,
  };
}

const lines = (...xs: string[]) => Readable.from([Buffer.from(xs.join('\n'))]);

/** A fake terminal: raw mode is tracked, keystrokes arrive one chunk at a time. */
function terminal(keys: string[]) {
  const stream = Object.assign(new PassThrough(), { isTTY: true, raw: false });
  const tty = Object.assign(stream, {
    setRawMode(mode: boolean) {
      stream.raw = mode;
      if (mode) setImmediate(() => stream.write(keys.shift() ?? ''));
      return stream;
    },
  });
  return tty;
}

describe('mqtt-warden passwd', () => {
  it('creates a YAML users file with an argon2id hash and updates it keeping other fields', async () => {
    const file = join(dir, 'users.yaml');
    const first = io(lines(SECRET));
    expect(await passwd(['--stdin', file, 'sensor-1'], first.io)).toBe(0);
    let store = await openFileStore({ path: file });
    const entry = await store.get('sensor-1');
    expect(identifyHash(entry!.hash)).toBe('argon2id');
    expect(entry!.hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(SECRET, entry!.hash)).toBe(true);
    expect(Date.now() - entry!.passwordChangedAt!.getTime()).toBeLessThan(60_000);
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    await writeFile(file, `${await readFile(file, 'utf8')}    roles: [device] # keep\n`);
    expect(await passwd(['--stdin', file, 'sensor-1'], io(lines('another long secret!')).io)).toBe(0);
    store = await openFileStore({ path: file });
    const updated = await store.get('sensor-1');
    expect(updated?.roles).toEqual(['device']);
    expect(await verifyPassword('another long secret!', updated!.hash)).toBe(true);
    expect(await readFile(file, 'utf8')).toContain('# keep');
    expect(first.out() + first.err()).not.toContain(SECRET);
  });

  it('edits a Mosquitto password_file like mosquitto_passwd, and deletes with -D', async () => {
    const file = join(dir, 'passwd');
    await writeFile(file, `# comment\nalice:${MOSQUITTO_7}\n`, { mode: 0o640 });
    expect(await passwd(['--stdin', file, 'bob'], io(lines(SECRET)).io)).toBe(0);
    const text = await readFile(file, 'utf8');
    expect(text).toMatch(/^# comment\nalice:\$7\$101\$kDIf.*\nbob:\$argon2id\$[^\n]+\n$/);
    expect((await stat(file)).mode & 0o777).toBe(0o640);
    const store = await openFileStore({ path: file });
    expect(await verifyPassword(SECRET, (await store.get('bob'))!.hash)).toBe(true);

    expect(await passwd(['-D', file, 'alice'], io().io)).toBe(0);
    expect(await readFile(file, 'utf8')).not.toContain('alice');
    const missing = io();
    expect(await passwd(['-D', file, 'alice'], missing.io)).toBe(1);
    expect(missing.err()).toMatch(/"alice" is not in/);
  });

  it('JSON users files work the same way', async () => {
    const file = join(dir, 'users.json');
    expect(await passwd(['--stdin', file, 'dev'], io(lines(`${SECRET}\r`)).io)).toBe(0);
    const data = JSON.parse(await readFile(file, 'utf8'));
    expect(await verifyPassword(SECRET, data.users.dev.hash)).toBe(true); // \r stripped
  });

  it('refuses weak passwords, naming the rule but never the password, and writes nothing', async () => {
    const file = join(dir, 'weak.yaml');
    for (const [password, rule] of [
      ['short', /at least 12 characters/],
      ['password1234', /too common/],
      ['my-name-is-sensor-9', /must not contain the username/],
    ] as const) {
      const run = io(lines(password));
      expect(await passwd(['--stdin', file, 'sensor-9'], run.io)).toBe(1);
      expect(run.err()).toMatch(rule);
      expect(run.out() + run.err()).not.toContain(password);
    }
    await expect(stat(file)).rejects.toThrow();
  });

  it('prompts twice without echo on a terminal, and refuses differing entries', async () => {
    const file = join(dir, 'tty.yaml');
    const ok = io(terminal([`${SECRET}\r`, `${SECRET}\r`]));
    expect(await passwd([file, 'tty-user'], ok.io)).toBe(0);
    expect(ok.err()).toBe('Password: \nReenter password: \n');
    const store = await openFileStore({ path: file });
    expect(await verifyPassword(SECRET, (await store.get('tty-user'))!.hash)).toBe(true);

    const typo = io(terminal([`${SECRET}\r`, `${SECRET}x\u007f\u007fy\r`]));
    expect(await passwd([file, 'tty-user'], typo.io)).toBe(1);
    expect(typo.err()).toMatch(/do not match/);
  });

  it('usage and file errors exit 2 without touching the file', async () => {
    const file = join(dir, 'broken.yaml');
    const broken = 'users:\n  a:\n    hash: $7$0$x$y\n';
    await writeFile(file, broken);
    const run = io(lines(SECRET));
    expect(await passwd(['--stdin', file, 'b'], run.io)).toBe(2);
    expect(run.err()).toMatch(/broken\.yaml:3: user "a"/);
    expect(await readFile(file, 'utf8')).toBe(broken);

    expect(await passwd(['--stdin', join(dir, 'x.yaml'), 'a:b'], io(lines(SECRET)).io)).toBe(2);
    expect(await passwd(['only-file'], io().io)).toBe(2);
    expect(await passwd(['--bogus', 'f', 'u'], io().io)).toBe(2);
    const notTty = io(lines(SECRET));
    expect(await passwd([join(dir, 'y.yaml'), 'someone'], notTty.io)).toBe(2);
    expect(notTty.err()).toMatch(/not a terminal; pass the password with --stdin/);
    expect(await passwd(['-D', join(dir, 'absent.yaml'), 'a'], io().io)).toBe(2);
  });
});

describe('mqtt-warden hash', () => {
  it('prints an argon2id hash of the password read from stdin, and nothing else', async () => {
    const run = io(lines(SECRET));
    expect(await hash(['--memory-cost', '1024', '--time-cost', '1'], run.io)).toBe(0);
    const printed = run.out().trim();
    expect(printed).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$[^\s]+$/);
    expect(await verifyPassword(SECRET, printed)).toBe(true);
    expect(run.err()).toBe('');
  });

  it('uses the OWASP defaults, refuses weak passwords and bad options', async () => {
    const run = io(lines(SECRET));
    expect(await hash([], run.io)).toBe(0);
    expect(run.out()).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    const weak = io(lines('qwerty123'));
    expect(await hash([], weak.io)).toBe(1);
    expect(weak.out()).toBe('');
    expect(weak.err()).not.toContain('qwerty123');
    expect(await hash(['--time-cost', 'lots'], io(lines(SECRET)).io)).toBe(2);
    expect(await hash(['--time-cost', '0'], io(lines(SECRET)).io)).toBe(2);
  });
});

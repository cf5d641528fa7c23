import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { run as checkCommand } from '../src/commands/check.js';
import { run as exportCommand } from '../src/commands/export.js';
import { run as importCommand } from '../src/commands/import.js';

/** `mqtt-warden import …`, `export …` or `check …`, in-process. */
function main([name, ...args]: string[]): Promise<number> {
  if (name === 'export') return exportCommand(args);
  return name === 'import' ? importCommand(args) : checkCommand(args);
}

async function capture(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
  const code = await main(args);
  vi.restoreAllMocks();
  return { code, out: out.join('\n'), err: err.join('\n') };
}

afterEach(() => {
  vi.restoreAllMocks();
});

async function files(acl: string) {
  const dir = await mkdtemp(join(tmpdir(), 'import-'));
  await writeFile(join(dir, 'acl.conf'), acl);
  return { dir, acl: join(dir, 'acl.conf'), out: join(dir, 'policy.yaml') };
}

describe('mqtt-warden import mosquitto-acl', () => {
  it('writes a policy that check reproduces, for named and anonymous clients, and exits 0', async () => {
    const f = await files(
      'topic read public/#\nuser alice\ntopic readwrite alice/#\npattern write devices/%c/#\n',
    );
    const r = await capture(['import', 'mosquitto-acl', f.acl, '--out', f.out]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^imported: 3 rules; changed meaning: 1; refused: 0/);
    expect(r.out).toContain(`wrote ${f.out}`);
    expect(await readFile(f.out, 'utf8')).toContain(`# ${f.acl}:3: topic readwrite alice/#`);

    const check = (...args: string[]) => capture(['check', '--policy', f.out, ...args]);
    // Without --username: an anonymous client, which the general rules are for.
    expect((await check('--client-id', 'c1', '--receive', 'public/x')).code).toBe(0);
    expect((await check('--username', 'alice', '--receive', 'public/x')).code).toBe(1);
    expect((await check('--username', 'alice', '--publish', 'alice/x')).code).toBe(0);
    expect((await check('--client-id', 'c1', '--publish', 'devices/c1/t')).code).toBe(0);
    expect((await check('--client-id', 'c1', '--publish', 'devices/c2/t')).code).toBe(1);
  });

  it('exits 1 and writes nothing when a rule cannot be imported, unless --lossy', async () => {
    const f = await files('topic read ok\ntopic read a/${x}\n');
    const r = await capture(['import', 'mosquitto-acl', f.acl, '--out', f.out]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${f.acl}:2: topic read a/\${x}`);
    expect(r.err).toContain('nothing written');
    expect(existsSync(f.out)).toBe(false);
    const lossy = await capture(['import', 'mosquitto-acl', f.acl, '--out', f.out, '--lossy']);
    expect(lossy.code).toBe(0);
    expect(await readFile(f.out, 'utf8')).toContain('"ok"');
  });

  it('exits 1 with the line for a file Mosquitto refuses, 2 for usage errors and missing files', async () => {
    const f = await files('topic read a\ntopic sometimes b\n');
    const bad = await capture(['import', 'mosquitto-acl', f.acl, '--out', f.out]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain(`${f.acl}:2: invalid access "sometimes"`);
    expect((await capture(['import', 'mosquitto-acl', f.acl])).code).toBe(2);
    expect((await capture(['import', 'nosuch', f.acl, '--out', f.out])).code).toBe(2);
    expect((await capture(['import', 'mosquitto-acl', f.acl, 'extra', '--out', f.out])).code).toBe(2);
    const missing = await capture(['import', 'mosquitto-acl', join(f.dir, 'none'), '--out', f.out]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('ENOENT');
  });

  it('--password-file: reports users who cannot log in', async () => {
    const f = await files('user alice\ntopic a\n');
    const passwd = join(f.dir, 'passwd');
    await writeFile(passwd, `bob:$7$101$${'A'.repeat(16)}$${'A'.repeat(86)}==\n`);
    const r = await capture(['import', 'mosquitto-acl', f.acl, '--password-file', passwd, '--out', f.out]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('cannot log in');
    expect(r.out).toContain('"alice"');
  });
});

describe('mqtt-warden import emqx-acl and emqx-users', () => {
  it('writes a policy that check reproduces in EMQX order, no_match explicit, and exits 0', async () => {
    const f = await files(
      [
        '%% acl.conf',
        '{allow, {ipaddr, "10.0.0.0/8"}, publish, ["ops/#"]}.',
        '{deny, {user, "bob"}, all, ["a/#"]}.',
        '{allow, all, all, ["a/#"]}.',
      ].join('\n'),
    );
    const r = await capture(['import', 'emqx-acl', f.acl, '--out', f.out]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^imported: 3 rules; changed meaning: 0; refused: 0/);
    expect(r.out).toContain('no_match = allow');
    expect(await readFile(f.out, 'utf8')).toContain(`# ${f.acl}:3: {deny, {user, "bob"}, all, ["a/#"]}.`);
    const check = (...args: string[]) => capture(['check', '--policy', f.out, ...args]);
    expect((await check('--username', 'bob', '--publish', 'a/x')).code).toBe(1);
    expect((await check('--username', 'eve', '--publish', 'a/x')).code).toBe(0);
    expect((await check('--username', 'eve', '--publish', 'b')).code).toBe(0); // no_match = allow
    expect((await check('--username', 'bob', '--publish', 'ops/x', '--from', '10.1.1.1')).code).toBe(0);

    const closed = await capture(['import', 'emqx-acl', f.acl, '--out', f.out, '--no-match', 'deny']);
    expect(closed.code).toBe(0);
    expect((await check('--username', 'eve', '--publish', 'b')).code).toBe(1);
  });

  it('exits 1 for a refused rule unless --lossy, 1 with file:line:col for a file EMQX refuses, 2 for usage', async () => {
    const f = await files('{allow, {client_attr, "a", "b"}, all, ["x"]}.\n{allow, all, all, ["y"]}.\n');
    expect((await capture(['import', 'emqx-acl', f.acl, '--out', f.out])).code).toBe(1);
    expect(existsSync(f.out)).toBe(false);
    expect((await capture(['import', 'emqx-acl', f.acl, '--out', f.out, '--lossy'])).code).toBe(0);
    const bad = await files('{allow, all, pubsub, ["x"]}.');
    const r = await capture(['import', 'emqx-acl', bad.acl, '--out', bad.out]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${bad.acl}:1:14: the action must be publish`);
    expect((await capture(['import', 'emqx-acl', f.acl, '--out', f.out, '--no-match', 'maybe'])).code).toBe(
      2,
    );
    expect(
      (await capture(['import', 'mosquitto-acl', f.acl, '--out', f.out, '--no-match', 'deny'])).code,
    ).toBe(2);
  });

  it('emqx-users writes a users file readable by the owner only, with the given hash settings', async () => {
    const { createHash } = await import('node:crypto');
    const { stat } = await import('node:fs/promises');
    const dir = await mkdtemp(join(tmpdir(), 'import-'));
    const hash = createHash('sha512').update('pw-1salt').digest('hex');
    await writeFile(
      join(dir, 'users.csv'),
      `user_id,password_hash,salt,is_superuser\nu1,${hash},salt,false\n`,
    );
    const out = join(dir, 'users.yaml');
    const args = ['import', 'emqx-users', join(dir, 'users.csv'), '--out', out];
    const r = await capture([...args, '--hash-algorithm', 'sha512', '--salt-position', 'suffix']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^imported: 1 users/);
    expect(await readFile(out, 'utf8')).toContain('"algorithm":"sha512"');
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    expect((await capture([...args, '--hash-algorithm', 'pbkdf2'])).code).toBe(2); // needs its parameters
    expect((await capture([...args, '--hash-algorithm', 'bcrypt', '--salt-position', 'prefix'])).code).toBe(
      2,
    );
  });
});

describe('mqtt-warden export', () => {
  it('writes an acl_file and an acl.conf that import back to the same decisions', async () => {
    const f = await files(
      'topic read public/#\nuser alice\ntopic readwrite alice/#\npattern write devices/%c/#\n',
    );
    expect((await capture(['import', 'mosquitto-acl', f.acl, '--out', f.out])).code).toBe(0);
    const mosquitto = join(f.dir, 'exported.acl');
    const r = await capture(['export', 'mosquitto-acl', f.out, '--out', mosquitto]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^exported: 3 rules; changed meaning: 0; refused: 0/);
    const text = await readFile(mosquitto, 'utf8');
    expect(text).toContain('user alice\n');
    expect(text).toContain('topic readwrite alice/#');
    expect(text).toContain('pattern write devices/%c/#');

    // Anonymous clients have no EMQX "who": listed, exit 1, nothing written; --lossy writes the rest.
    const emqx = join(f.dir, 'exported.conf');
    const refused = await capture(['export', 'emqx-acl', f.out, '--out', emqx]);
    expect(refused.code).toBe(1);
    expect(refused.out).toContain('acl.conf cannot match clients without a username');
    expect(existsSync(emqx)).toBe(false);
    expect((await capture(['export', 'emqx-acl', f.out, '--out', emqx, '--lossy'])).code).toBe(0);
    const back = join(f.dir, 'back.yaml');
    expect((await capture(['import', 'emqx-acl', emqx, '--out', back])).code).toBe(0);
    const check = (...args: string[]) => capture(['check', '--policy', back, ...args]);
    expect((await check('--username', 'alice', '--publish', 'alice/x')).code).toBe(0);
    expect((await check('--username', 'bob', '--publish', 'alice/x')).code).toBe(1);
    expect((await check('--username', 'bob', '--client-id', 'd1', '--publish', 'devices/d1/t')).code).toBe(0);
  });

  it('exits 1 for an invalid policy, 2 for usage errors and unreadable files', async () => {
    const f = await files('');
    await writeFile(f.out, 'version: 2\n');
    expect((await capture(['export', 'emqx-acl', f.out, '--out', f.acl])).code).toBe(1);
    expect((await capture(['export', 'nosuch', f.out, '--out', f.acl])).code).toBe(2);
    expect((await capture(['export', 'emqx-acl', f.out])).code).toBe(2);
    expect((await capture(['export', 'emqx-acl', join(f.dir, 'none'), '--out', f.acl])).code).toBe(2);
  });
});

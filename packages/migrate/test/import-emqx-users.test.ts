import { createHash, pbkdf2Sync } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPasswordAuthenticator, openFileStore } from '@mqtt-warden/password';
import { describe, expect, it } from 'vitest';
import { type EmqxHashSettings, importEmqxUsers, MigrationError } from '../src/index.js';

const SALT = '9e2b1c0d7a3f4e5b8c6d0a1b2c3d4e5f'; // EMQX's generated salts: 32 hex chars, used as text
const digest = (algorithm: string, text: string) => createHash(algorithm).update(text).digest('hex');

/** Imports `text`, writes the users file, and logs each [user, password] in through the password authenticator. */
async function logins(
  text: string,
  file: string,
  hash: EmqxHashSettings | undefined,
  tries: [string, string][],
) {
  const { usersYaml, report } = await importEmqxUsers(text, { file, ...(hash && { hash }) });
  const dir = await mkdtemp(join(tmpdir(), 'emqx-users-'));
  await writeFile(join(dir, 'users.yaml'), usersYaml);
  const auth = createPasswordAuthenticator({
    store: await openFileStore({ path: join(dir, 'users.yaml') }),
    cache: false,
  });
  const outcomes: string[] = [];
  for (const [username, password] of tries) {
    const result = await auth.authenticate({
      clientId: 'c1',
      username,
      password: new TextEncoder().encode(password),
      transport: { tls: false, remoteAddress: '127.0.0.1' },
    });
    outcomes.push(
      result.outcome === 'allow' && result.principal.superuser ? 'allow-superuser' : result.outcome,
    );
  }
  return { outcomes, report, usersYaml };
}

describe('importEmqxUsers: imported users log in with their EMQX passwords', () => {
  it('CSV, sha256 with the salt as prefix (EMQX default); is_superuser kept', async () => {
    const csv = [
      'user_id,password_hash,salt,is_superuser',
      `alice,${digest('sha256', `${SALT}alice-pw`)},${SALT},false`,
      `root,${digest('sha256', `${SALT}root-pw`)},${SALT},true`,
      '',
    ].join('\n');
    const { outcomes, report } = await logins(csv, 'users.csv', undefined, [
      ['alice', 'alice-pw'],
      ['alice', 'wrong'],
      ['root', 'root-pw'],
      ['alice', 'root-pw'],
    ]);
    expect(outcomes).toEqual(['allow', 'deny', 'allow-superuser', 'deny']);
    expect(report.imported.map((e) => e.line)).toEqual([2, 3]);
  });

  it('each algorithm and salt position the export does not carry, given as settings', async () => {
    const cases: [EmqxHashSettings, string][] = [
      [{ name: 'sha512', saltPosition: 'suffix' }, digest('sha512', `pw-1${SALT}`)],
      [{ name: 'md5', saltPosition: 'disable' }, digest('md5', 'pw-1')],
      [{ name: 'sha' }, digest('sha1', `${SALT}pw-1`)],
      [{ name: 'plain', saltPosition: 'disable' }, 'pw-1'],
      [
        { name: 'pbkdf2', macFun: 'sha256', iterations: 1000 },
        pbkdf2Sync('pw-1', SALT, 1000, 32, 'sha256').toString('hex'),
      ],
      [
        { name: 'pbkdf2', macFun: 'sha512', iterations: 10, dkLength: 16 },
        pbkdf2Sync('pw-1', SALT, 10, 16, 'sha512').toString('hex'),
      ],
    ];
    for (const [settings, hash] of cases) {
      const json = JSON.stringify([{ user_id: 'u1', password_hash: hash, salt: SALT, is_superuser: false }]);
      const { outcomes } = await logins(json, 'users.json', settings, [
        ['u1', 'pw-1'],
        ['u1', 'pw-2'],
      ]);
      expect({ settings, outcomes }).toEqual({ settings, outcomes: ['allow', 'deny'] });
    }
  });

  it('bcrypt, and the plain-text form (user_id,password,is_superuser) hashed on import', async () => {
    // crypt(3) of "Tr0ub4dor&3-mqtt" (the password package's test vector).
    const bcrypt = '$2b$05$abcdefghijklmnopqrstuupf24v1lsuOkQ19jzy5GMKu22Q8v5G6W';
    const b = await logins(
      `user_id,password_hash,salt,is_superuser\nops,${bcrypt},,false\n`,
      'u.csv',
      { name: 'bcrypt' },
      [
        ['ops', 'Tr0ub4dor&3-mqtt'],
        ['ops', 'x'],
      ],
    );
    expect(b.outcomes).toEqual(['allow', 'deny']);
    const p = await logins('user_id,password,is_superuser\r\n"we,ird",s3cret,true\r\n', 'u.csv', undefined, [
      ['we,ird', 's3cret'],
      ['we,ird', 'other'],
    ]);
    expect(p.outcomes).toEqual(['allow-superuser', 'deny']);
    expect(p.usersYaml).toContain('$argon2id$');
    expect(p.usersYaml).not.toContain('s3cret');
  });

  it('refuses unusable users by user_id, never printing a hash', async () => {
    const { report } = await importEmqxUsers(
      JSON.stringify([
        { user_id: 'ok', password_hash: digest('sha256', 'x'), salt: '' },
        { user_id: 'short', password_hash: 'deadbeef', salt: '' },
        { user_id: 'ok', password_hash: digest('sha256', 'y'), salt: '' },
        { user_id: '', password_hash: digest('sha256', 'y') },
        { user_id: 'su', password_hash: digest('sha256', 'y'), is_superuser: 'yes' },
      ]),
      { file: 'users.json' },
    );
    expect(report.imported.map((e) => e.path)).toEqual(['[0]']);
    expect(report.refused.map((e) => `${e.path} ${e.text}`)).toEqual([
      '[1] user_id=short',
      '[2] user_id=ok',
      '[3] user_id=',
      '[4] user_id=su',
    ]);
    expect(JSON.stringify(report)).not.toContain('deadbeef');
  });

  it('throws a located MigrationError for a file EMQX cannot import', async () => {
    await expect(importEmqxUsers('name,hash\nx,y\n', { file: 'u.csv' })).rejects.toThrow(
      /^u\.csv:1: the first line/,
    );
    await expect(importEmqxUsers('user_id,password,is_superuser\na,b\n', { file: 'u.csv' })).rejects.toThrow(
      /^u\.csv:2: expected 3 fields/,
    );
    await expect(importEmqxUsers('{"user_id": "a"}', { file: 'u.json' })).rejects.toThrow(MigrationError);
  });
});

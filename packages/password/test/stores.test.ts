import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CredentialFileError,
  createMemoryStore,
  credentialFileFormat,
  deleteMosquittoPassword,
  deleteUser,
  openFileStore,
  PasswordFormatError,
  parseMosquittoPasswordFile,
  parseUsersFile,
  setMosquittoPassword,
  setUserPassword,
  verifyPassword,
} from '../src/index.js';
import * as v from './vectors.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warden-password-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function thrown(fn: () => unknown): CredentialFileError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CredentialFileError);
    return error as CredentialFileError;
  }
  throw new Error('expected a CredentialFileError');
}

const YAML_USERS = `# devices of site Berlin
users:
  sensor-1:
    hash: ${v.ARGON2ID}
    roles: [device]
    groups: [berlin]
    attributes: { site: berlin, lines: [a, b] }
    passwordChangedAt: 2025-05-01T10:00:00Z
  ops:
    hash: ${v.BCRYPT_2B}
    superuser: true
  legacy:
    hash: { algorithm: sha256, salt: ${v.EMQX_SALT}, saltPosition: suffix, hash: ${v.EMQX.sha256.suffix} }
    disabled: true
`;

describe('Mosquitto password_file', () => {
  const file = `# made by mosquitto_passwd 2.0.11
alice:${v.MOSQUITTO_PASSWD_PBKDF2}
bob:${v.MOSQUITTO_PASSWD_SHA512}:ignored after a second colon

no colon on this line is skipped
 carol :${v.MOSQUITTO_PASSWD_UNICODE}\r
`;

  it('imports entries as Mosquitto 2.0 reads them, and they verify', async () => {
    const users = parseMosquittoPasswordFile(file);
    expect(users.map((u) => u.username)).toEqual(['alice', 'bob', 'carol']);
    expect(await verifyPassword(v.PASSWORD, users[1]!.hash)).toBe(true);
    expect(await verifyPassword(v.UNICODE_PASSWORD, users[2]!.hash)).toBe(true);
  });

  it('refuses the whole file for entries Mosquitto 2.1 treats as invalid, naming the line, not the hash', () => {
    for (const [text, line] of [
      ['ok:' + v.MOSQUITTO_PASSWD_PBKDF2 + '\nbad:', 2],
      ['bad:bad', 1],
      ['bad:$', 1],
      ['bad:$6', 1],
      ['bad:$6$', 1],
      ['bad:$6$hciZUxaDt2r/Eg11', 1],
      ['bad:$5$abc$def', 1],
      [':' + v.MOSQUITTO_PASSWD_PBKDF2, 1],
      ['bad:' + v.MOSQUITTO_PASSWD_PBKDF2.replace('kDIf', 'kD!f'), 1],
      [`dup:${v.MOSQUITTO_PASSWD_PBKDF2}\ndup:${v.MOSQUITTO_PASSWD_SHA512}`, 2],
    ] as const) {
      const error = thrown(() => parseMosquittoPasswordFile(text, 'passwd'));
      expect(error.code).toBe('ERR_CREDENTIAL_FILE');
      expect(error.line).toBe(line);
      expect(error.message).toMatch(new RegExp(`^passwd:${line}: `));
      expect(error.message).not.toContain('kDIf');
    }
  });

  it('set and delete edit single lines like mosquitto_passwd', () => {
    let text = setMosquittoPassword('# keep me\nalice:old\n', 'bob', v.MOSQUITTO_PASSWD_SHA512);
    text = setMosquittoPassword(text, 'alice', v.MOSQUITTO_PASSWD_PBKDF2);
    expect(text).toBe(`# keep me\nalice:${v.MOSQUITTO_PASSWD_PBKDF2}\nbob:${v.MOSQUITTO_PASSWD_SHA512}\n`);
    expect(deleteMosquittoPassword(text, 'alice')).toBe(`# keep me\nbob:${v.MOSQUITTO_PASSWD_SHA512}\n`);
    expect(deleteMosquittoPassword(text, 'nobody')).toBeUndefined();
    expect(() => setMosquittoPassword('', 'a:b', 'x')).toThrow(CredentialFileError);
    expect(() => setMosquittoPassword('', 'a\nb', 'x')).toThrow(CredentialFileError);
  });
});

describe('users file (YAML/JSON)', () => {
  it('reads hashes in any format plus roles, groups, attributes, superuser, change date, disabled', async () => {
    const users = parseUsersFile(YAML_USERS, 'yaml');
    expect(users).toEqual([
      {
        username: 'sensor-1',
        hash: v.ARGON2ID,
        roles: ['device'],
        groups: ['berlin'],
        attributes: { site: 'berlin', lines: ['a', 'b'] },
        passwordChangedAt: new Date('2025-05-01T10:00:00Z'),
      },
      { username: 'ops', hash: v.BCRYPT_2B, superuser: true },
      {
        username: 'legacy',
        hash: { algorithm: 'sha256', salt: v.EMQX_SALT, saltPosition: 'suffix', hash: v.EMQX.sha256.suffix },
        disabled: true,
      },
    ]);
    expect(await verifyPassword(v.PASSWORD, users[2]!.hash)).toBe(true);
    const json = JSON.stringify({ users: { a: { hash: v.GO_AUTH_SHA256, roles: ['x'] } } });
    expect(parseUsersFile(json, 'json')).toEqual([{ username: 'a', hash: v.GO_AUTH_SHA256, roles: ['x'] }]);
    expect(parseUsersFile('', 'yaml')).toEqual([]);
  });

  it('reports mistakes with file and line, never the hash', () => {
    const cases: [string, number, RegExp][] = [
      [
        `users:\n  a:\n    hash: ${v.MOSQUITTO_PASSWD_PBKDF2.replace('$101$', '$0$')}\n`,
        3,
        /"a": \$7\$ iterations/,
      ],
      [`users:\n  a:\n    hash: ${v.ARGON2ID}\n    roles: device\n`, 4, /field roles/],
      [`users:\n  a:\n    hash: ${v.ARGON2ID}\n    colour: red\n`, 4, /field colour/],
      [`users:\n  a:\n    hash: ${v.ARGON2ID}\n    passwordChangedAt: yesterday\n`, 4, /passwordChangedAt/],
      [`users:\n  a:\n    hash: { algorithm: md5, hash: abc }\n`, 3, /md5 hash must be 32 hex/],
      [`users:\n  a: { hash: x }\n  a: { hash: y }\n`, 3, /invalid YAML/],
      [`users: [a, b]\n`, 1, /map usernames/],
      [`people: {}\n`, 1, /one key, "users"/],
      [`users:\n  "a:b":\n    hash: ${v.ARGON2ID}\n`, 3, /username/],
    ];
    for (const [text, line, message] of cases) {
      const error = thrown(() => parseUsersFile(text, 'yaml', 'users.yaml'));
      expect(error.message).toMatch(message);
      expect(error.line).toBe(line);
      expect(error.message.startsWith(`users.yaml:${line}: `)).toBe(true);
      expect(error.message).not.toContain('c2FsdHNhbHRz');
    }
  });

  it('set/delete keep comments and other fields (YAML) and stay valid (JSON)', () => {
    const when = new Date('2026-01-02T03:04:05Z');
    const yaml = setUserPassword(YAML_USERS, 'yaml', 'sensor-1', v.BCRYPT_2A, when);
    expect(yaml).toContain('# devices of site Berlin');
    const users = parseUsersFile(yaml, 'yaml');
    expect(users[0]).toMatchObject({
      username: 'sensor-1',
      hash: v.BCRYPT_2A,
      roles: ['device'],
      passwordChangedAt: when,
    });
    const added = parseUsersFile(setUserPassword('', 'yaml', 'new', v.ARGON2ID, when), 'yaml');
    expect(added).toEqual([{ username: 'new', hash: v.ARGON2ID, passwordChangedAt: when }]);
    expect(parseUsersFile(deleteUser(yaml, 'yaml', 'ops')!, 'yaml').map((u) => u.username)).toEqual([
      'sensor-1',
      'legacy',
    ]);
    expect(deleteUser(yaml, 'yaml', 'nobody')).toBeUndefined();

    const json = setUserPassword(
      setUserPassword('', 'json', 'a', v.ARGON2ID, when),
      'json',
      '__proto__',
      v.BCRYPT_2B,
      when,
    );
    expect(parseUsersFile(json, 'json').map((u) => u.username)).toEqual(['a', '__proto__']);
    expect(parseUsersFile(deleteUser(json, 'json', 'a')!, 'json').map((u) => u.username)).toEqual([
      '__proto__',
    ]);
  });
});

describe('createMemoryStore', () => {
  it('validates hashes on the way in and notifies listeners of changes', () => {
    const store = createMemoryStore([{ username: 'a', hash: v.ARGON2ID }]);
    let changes = 0;
    const off = store.onChange(() => changes++);
    expect(() => store.set({ username: 'b', hash: 'not a hash' })).toThrow(PasswordFormatError);
    expect(store.get('b')).toBeUndefined();
    store.set({ username: 'b', hash: v.BCRYPT_2B, roles: ['r'] });
    store.updateHash('b', v.BCRYPT_2A);
    expect(store.get('b')).toEqual({ username: 'b', hash: v.BCRYPT_2A, roles: ['r'] });
    expect(store.delete('b')).toBe(true);
    expect(store.delete('b')).toBe(false);
    expect(() => store.replace([{ username: 'c', hash: '$7$0$a$b' }])).toThrow(PasswordFormatError);
    expect([...store.entries()].map((e) => e.username)).toEqual(['a']);
    expect(changes).toBe(3);
    off();
    store.delete('a');
    expect(changes).toBe(3);
  });
});

describe('openFileStore', () => {
  it('picks the format from the extension', () => {
    expect(credentialFileFormat('/etc/users.YML')).toBe('yaml');
    expect(credentialFileFormat('users.json')).toBe('json');
    expect(credentialFileFormat('/etc/mosquitto/passwd')).toBe('mosquitto');
  });

  it('loads, reloads on demand, and keeps the previous users when the new file is invalid', async () => {
    const path = join(dir, 'users.yaml');
    await writeFile(path, YAML_USERS);
    const store = await openFileStore({ path });
    expect((await store.get('ops'))?.superuser).toBe(true);
    let changes = 0;
    store.onChange(() => changes++);

    await writeFile(path, `users:\n  only:\n    hash: ${v.BCRYPT_2Y}\n`);
    await store.reload();
    expect(changes).toBe(1);
    expect(await store.get('ops')).toBeUndefined();
    expect((await store.get('only'))?.hash).toBe(v.BCRYPT_2Y);

    await writeFile(path, 'users:\n  only:\n    hash: $6$broken\n');
    await expect(store.reload()).rejects.toThrow(/users\.yaml:3: user "only"/);
    expect((await store.get('only'))?.hash).toBe(v.BCRYPT_2Y);
    expect(changes).toBe(1);
  });

  it('imports a Mosquitto password_file, and reports an unreadable file', async () => {
    const path = join(dir, 'passwd');
    await writeFile(path, `alice:${v.MOSQUITTO_PASSWD_PBKDF2}\n`);
    const store = await openFileStore({ path });
    expect(store.format).toBe('mosquitto');
    expect(await verifyPassword(v.PASSWORD, (await store.get('alice'))!.hash)).toBe(true);
    await expect(openFileStore({ path: join(dir, 'missing.yaml') })).rejects.toThrow(
      /cannot read the file \(ENOENT\)/,
    );
  });
});

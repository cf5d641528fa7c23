import { CredentialFileError, deleteUser, setUserPassword } from '@mqtt-warden/password';
import { describe, expect, it } from 'vitest';

// Property: editing a file that is not a users file (binary, a scalar, a list, invalid JSON) is a
// CredentialFileError saying so, never a parser's exception, and the message quotes none of the file.

const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';
const BINARY = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 167 + 13) % 256)).toString('latin1');

describe('editing something that is not a users file', () => {
  it.each([
    ['binary bytes', 'yaml', BINARY],
    ['a scalar', 'yaml', 'secret-looking text\n'],
    ['a list', 'yaml', '- a\n- b\n'],
    ['a scalar "users"', 'yaml', 'users: 3\n'],
    ['an empty "users"', 'yaml', 'users:\n'],
    ['invalid YAML', 'yaml', 'users: { a: [\n'],
    ['binary bytes', 'json', BINARY],
    ['invalid JSON', 'json', '{"users": {"a": {"hash": "$2b$10$secretsecretsecret"'],
  ] as const)('%s (%s) is refused with ERR_CREDENTIAL_FILE', (_, format, text) => {
    for (const edit of [
      () => setUserPassword(text, format, 'alice', HASH, new Date(0)),
      () => deleteUser(text, format, 'alice'),
    ]) {
      let thrown: unknown;
      try {
        edit();
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(CredentialFileError);
      expect((thrown as CredentialFileError).code).toBe('ERR_CREDENTIAL_FILE');
      expect((thrown as Error).message).toMatch(/not a users file|expected a JSON object/);
      expect((thrown as Error).message).not.toMatch(/secret/);
    }
  });

  it('still creates an empty file and edits a valid one', () => {
    const yaml = setUserPassword('', 'yaml', 'alice', HASH, new Date(0));
    expect(deleteUser(yaml, 'yaml', 'alice')).toBe('users: {}\n');
    expect(deleteUser('users: {}\n', 'yaml', 'bob')).toBeUndefined();
  });
});

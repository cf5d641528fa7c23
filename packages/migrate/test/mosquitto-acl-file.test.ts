import { describe, expect, it } from 'vitest';
import { MigrationError, parseMosquittoAclFile } from '../src/index.js';

const rules = (text: string) =>
  parseMosquittoAclFile(text, 'acl').rules.map(({ kind, access, topic, user }) => ({
    kind,
    access,
    topic,
    user,
  }));

describe('parseMosquittoAclFile (Mosquitto 2.0 aclfile__parse)', () => {
  it('reads general rules, user sections (merged when repeated) and patterns wherever they are', () => {
    const file = parseMosquittoAclFile(
      [
        'topic read $SYS/#',
        'user alice',
        'topic a/#',
        'pattern write d/%c',
        'user bob',
        'user alice',
        'topic deny x',
      ].join('\n'),
    );
    expect(file.users).toEqual(['alice', 'bob']);
    expect(
      file.rules.map(({ kind, access, topic, user, line }) => ({ kind, access, topic, user, line })),
    ).toEqual([
      { kind: 'topic', access: 'read', topic: '$SYS/#', user: undefined, line: 1 },
      { kind: 'topic', access: 'readwrite', topic: 'a/#', user: 'alice', line: 3 },
      { kind: 'pattern', access: 'write', topic: 'd/%c', user: undefined, line: 4 },
      { kind: 'topic', access: 'deny', topic: 'x', user: 'alice', line: 7 },
    ]);
  });

  it('splits on runs of spaces only: topics keep inner spaces, a tab is not a separator', () => {
    expect(rules('  topic   read   a b/c  \r')).toEqual([
      { kind: 'topic', access: 'read', topic: 'a b/c', user: undefined },
    ]);
    // "read\tx" is one token: the topic, with access readwrite.
    expect(rules('topic read\tx')).toEqual([
      { kind: 'topic', access: 'readwrite', topic: 'read\tx', user: undefined },
    ]);
    // One token after the keyword is the topic, even an access word.
    expect(rules('topic deny')).toEqual([
      { kind: 'topic', access: 'readwrite', topic: 'deny', user: undefined },
    ]);
    expect(parseMosquittoAclFile('user   bob smith  \ntopic a').rules[0]?.user).toBe('bob smith');
  });

  it('skips comments only when # is the first byte, and blank lines', () => {
    expect(rules('# comment\n\n   \ntopic a')).toHaveLength(1);
    expect(() => parseMosquittoAclFile('  # indented comment', 'acl')).toThrow(/acl:1: invalid line/);
  });

  it('refuses what makes Mosquitto refuse to start, with the line', () => {
    const cases: [string, RegExp][] = [
      ['topic', /acl:1: empty topic/],
      ['topic subscribe a/b', /acl:1: invalid access "subscribe"/],
      ['\ntopic read a/#/b', /acl:2: invalid ACL topic "a\/#\/b"/],
      ['topic read a/b+', /"\+" must fill a whole level/],
      ['user', /acl:1: missing username/],
      ['topic\tread\ta', /acl:1: invalid line/],
      [`topic read ${'a/'.repeat(201)}a`, /more than 200 levels/],
    ];
    for (const [text, message] of cases) {
      let error: unknown;
      try {
        parseMosquittoAclFile(text, 'acl');
      } catch (e) {
        error = e;
      }
      expect(error, text).toBeInstanceOf(MigrationError);
      expect((error as MigrationError).code).toBe('ERR_MIGRATION_INPUT');
      expect((error as MigrationError).message, text).toMatch(message);
    }
  });
});

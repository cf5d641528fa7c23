import { MigrationError } from './migration-error.js';

/** Mosquitto's access words; `deny` refuses READ and WRITE whatever comes later. */
export type MosquittoAccess = 'read' | 'write' | 'readwrite' | 'deny';

/** One `topic` or `pattern` line of a Mosquitto `acl_file`. */
export interface MosquittoAclRule {
  readonly kind: 'topic' | 'pattern';
  readonly access: MosquittoAccess;
  readonly topic: string;
  /** The `user` section a `topic` line is in; undefined for general rules and for every pattern. */
  readonly user: string | undefined;
  /** 1-based line number. */
  readonly line: number;
  /** The line as written, trailing whitespace removed. */
  readonly text: string;
}

export interface MosquittoAclFile {
  readonly rules: readonly MosquittoAclRule[];
  /** Usernames of the `user` sections, in order of first appearance (repeated sections are one). */
  readonly users: readonly string[];
}

const ACCESS = new Set<string>(['read', 'write', 'readwrite', 'deny']);
/** C's isspace in the "C" locale. */
const SPACE = /[ \t\n\v\f\r]/;
/** `TOPIC_HIERARCHY_LIMIT` in Mosquitto 2.0: at most this many `/` in an ACL topic. */
const HIERARCHY_LIMIT = 200;

/**
 * Parses a Mosquitto 2.0 `acl_file` exactly as `aclfile__parse` does: a comment only when the first byte
 * is `#`; tokens split on single spaces only (runs of spaces are one separator, a tab is not one);
 * `topic|pattern [read|write|readwrite|deny] TOPIC` (one token after the keyword is the topic, access
 * readwrite; the topic is the rest of the line, trimmed, and may hold spaces); `user NAME` (rest of the
 * line, trimmed). Throws a {@link MigrationError} with the line where Mosquitto would refuse to start.
 *
 * @example
 * ```ts
 * parseMosquittoAclFile('topic read $SYS/#\nuser alice\ntopic a/#\npattern write d/%c', 'acl.conf').rules;
 * ```
 */
export function parseMosquittoAclFile(text: string, file?: string): MosquittoAclFile {
  const rules: MosquittoAclRule[] = [];
  const users: string[] = [];
  let user: string | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = trimEnd(raw);
    const where = { file, line: i + 1 };
    if (line.startsWith('#')) return;
    const first = nextToken(line, 0);
    if (!first) return;
    if (first.token === 'topic' || first.token === 'pattern') {
      const second = nextToken(line, first.next);
      if (!second) throw new MigrationError('empty topic: Mosquitto refuses to start', where);
      const rest = second.next < line.length ? trim(line.slice(second.next)) : undefined;
      const topic = rest ?? second.token;
      const access = rest === undefined ? 'readwrite' : second.token;
      if (!ACCESS.has(access)) {
        throw new MigrationError(
          `invalid access "${access}": write read, write, readwrite or deny (Mosquitto refuses to start)`,
          where,
        );
      }
      const problem = aclTopicProblem(topic);
      if (problem) {
        throw new MigrationError(
          `invalid ACL topic "${topic}": ${problem} (Mosquitto refuses to start)`,
          where,
        );
      }
      rules.push({
        kind: first.token,
        access: access as MosquittoAccess,
        topic,
        user: first.token === 'topic' ? user : undefined,
        line: i + 1,
        text: line,
      });
    } else if (first.token === 'user') {
      if (first.next >= line.length) {
        throw new MigrationError('missing username: Mosquitto refuses to start', where);
      }
      user = trim(line.slice(first.next));
      if (!users.includes(user)) users.push(user);
    } else {
      throw new MigrationError(
        `invalid line: a line starts with topic, pattern or user, or with # in the first column for a comment (Mosquitto refuses to start)`,
        where,
      );
    }
  });
  return { rules, users };
}

/** `strtok_r(s, " ")` from `pos`: skip spaces, take up to the next space; `next` is just past that space. */
function nextToken(line: string, pos: number): { token: string; next: number } | undefined {
  let start = pos;
  while (start < line.length && line[start] === ' ') start++;
  if (start >= line.length) return undefined;
  const space = line.indexOf(' ', start);
  if (space === -1) return { token: line.slice(start), next: line.length };
  return { token: line.slice(start, space), next: space + 1 };
}

function trimEnd(s: string): string {
  let end = s.length;
  while (end > 0 && SPACE.test(s[end - 1]!)) end--;
  return s.slice(0, end);
}

function trim(s: string): string {
  let start = 0;
  while (start < s.length && SPACE.test(s[start]!)) start++;
  return trimEnd(s.slice(start));
}

/** `mosquitto_sub_topic_check` (broker build): `+` and `#` fill a level, `#` last, ≤ 65535 bytes, ≤ 200 `/`. */
function aclTopicProblem(topic: string): string | undefined {
  const levels = topic.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.includes('+') && level !== '+') return '"+" must fill a whole level';
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) {
      return '"#" must be the whole last level';
    }
  }
  if (Buffer.byteLength(topic) > 65_535) return 'longer than 65535 bytes';
  if (levels.length - 1 > HIERARCHY_LIMIT) return `more than ${HIERARCHY_LIMIT} levels`;
  return undefined;
}

import { compilePolicy, PolicyError, type PolicyIssue, parsePolicy } from '@mqtt-warden/policy';
import { afterEach, describe, expect, it } from 'vitest';
import { principal } from './helpers.js';

// Property: keys named __proto__, constructor or prototype anywhere in a policy are either a located
// error or plain data. They never pollute Object.prototype and never widen a grant.

const ADMIN = 'roles:\n  admin: { rules: [{ effect: allow, actions: all, topics: "#" }] }';

function issuesOf(text: string): PolicyIssue[] {
  try {
    parsePolicy(text, { file: 'p.yaml' });
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    return [...(error as PolicyError).issues];
  }
  throw new Error('the policy loaded but should not have');
}

afterEach(() => {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.prototype).not.toHaveProperty('polluted');
  expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('admin');
});

describe('__proto__ keys are a located error', () => {
  it.each([
    ['users', `version: 1\nusers:\n  __proto__: [admin]\n${ADMIN}`, 3, 3],
    ['groups', `version: 1\ngroups: { __proto__: [admin] }\n${ADMIN}`, 2, 11],
    [
      'binding attributes',
      `version: 1\nbindings:\n  - when: { attributes: { __proto__: "*" } }\n    roles: [admin]\n${ADMIN}`,
      3,
      27,
    ],
    ['superuser attributes', `version: 1\nsuperusers:\n  - attributes: { __proto__: "*" }\n${ADMIN}`, 3, 19],
    [
      'roles',
      `version: 1\nroles:\n  __proto__: { rules: [{ effect: allow, actions: all, topics: "#" }] }`,
      3,
      3,
    ],
    [
      'a rule',
      `version: 1\nroles:\n  r: { rules: [{ effect: allow, actions: all, topics: a, __proto__: { polluted: 1 } }] }`,
      3,
      58,
    ],
    ['the top level (JSON)', '{"version": 1, "roles": {}, "__proto__": {"polluted": 1}}', 1, 29],
  ])('in %s', (_, text, line, column) => {
    const issues = issuesOf(text);
    expect(issues).toContainEqual(
      expect.objectContaining({
        file: 'p.yaml',
        line,
        column,
        message: expect.stringMatching(/"__proto__"/),
      }),
    );
  });

  it('in a document built with JSON.parse and compiled directly', () => {
    const document = JSON.parse(
      '{"version":1,"bindings":[{"when":{"attributes":{"__proto__":"*"}},"roles":["admin"]}],"roles":{"admin":{"rules":[{"effect":"allow","actions":"all","topics":"#"}]}}}',
    );
    expect(() => compilePolicy(document)).toThrow(/"__proto__"/);
  });
});

describe('constructor, prototype and other Object.prototype names are plain data', () => {
  const anyone = [
    principal({ username: 'mallory' }),
    principal({ username: 'mallory', groups: ['staff'] }),
    principal({ username: 'mallory', attributes: { site: 'x' } }),
  ];
  const mayPublish = (text: string, who: ReturnType<typeof principal>) =>
    parsePolicy(text, { file: 'p.yaml' }).authorize(who, { action: 'publish', topic: 'a' }).allowed;

  it.each(['constructor', 'prototype', 'toString', 'hasOwnProperty'])(
    'a binding or superuser condition on attribute %s matches only principals that have it',
    (key) => {
      const bound = `version: 1\nbindings:\n  - when: { attributes: { ${key}: "yes" } }\n    roles: [admin]\n${ADMIN}`;
      const superuser = `version: 1\nsuperusers:\n  - attributes: { ${key}: "yes" }\n${ADMIN}`;
      for (const text of [bound, superuser]) {
        for (const who of anyone) expect(mayPublish(text, who)).toBe(false);
        expect(mayPublish(text, principal({ attributes: { [key]: 'yes' } }))).toBe(true);
        expect(mayPublish(text, principal({ attributes: { [key]: ['no', 'yes'] } }))).toBe(true);
      }
    },
  );

  it.each(['constructor', 'prototype', 'toString'])(
    'users and groups named %s get only their own roles',
    (key) => {
      const text = `version: 1\nusers: { ${key}: [admin] }\ngroups: { ${key}: [admin] }\n${ADMIN}`;
      for (const who of anyone) expect(mayPublish(text, who)).toBe(false);
      expect(mayPublish(text, principal({ username: key }))).toBe(true);
      expect(mayPublish(text, principal({ username: 'u', groups: [key] }))).toBe(true);
    },
  );

  it('a placeholder naming an inherited member substitutes nothing', () => {
    const text =
      'version: 1\nbindings: [{ when: { username: "*" }, roles: [r] }]\nroles:\n  r: { rules: [{ effect: allow, actions: all, topics: ["a/${attr.constructor}", "a/${claims.toString}"] }] }';
    const p = parsePolicy(text, { file: 'p.yaml' });
    for (const topic of ['a/', 'a/undefined', 'a/[object Object]', 'a/function Object() { [native code] }']) {
      expect(p.authorize(principal({ username: 'u' }), { action: 'publish', topic }).allowed).toBe(false);
    }
  });
});

describe('the __proto__ check', () => {
  it('terminates on cyclic YAML aliases, which stay a located schema error', () => {
    expect(issuesOf(`version: 1\nusers: &x { a: *x }\n${ADMIN}`)).toEqual([
      expect.objectContaining({ line: 2, message: expect.stringMatching(/^"users\.a"/) }),
    ]);
  });
});

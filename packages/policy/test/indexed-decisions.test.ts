import type { AccessRequest, Principal } from '@mqtt-warden/core';
import { compilePolicy } from '@mqtt-warden/policy';
import { filterCovers, filtersOverlap, isSafePlaceholderValue, matchTopic } from '@mqtt-warden/topic';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { principal } from './helpers.js';

// The policy looks topic names (and subscriptions without wildcards) up by filter shape, and checks a
// principal's roles in fields (a Set beyond 4 roles). These tests decide random requests both
// through the policy and by a plain scan of the principal's rules, and pin the properties an attacker
// would aim at: another role's rules, a chosen username, and the combining algorithms.

type Effect = 'allow' | 'deny';
type Word = 'publish' | 'subscribe' | 'receive' | 'read' | 'write' | 'all';
interface DocRule {
  effect: Effect;
  actions: Word[];
  topics: string[];
}
const EXPAND: Record<Word, string[]> = {
  publish: ['publish'],
  subscribe: ['subscribe'],
  receive: ['receive'],
  read: ['subscribe', 'receive'],
  write: ['publish'],
  all: ['publish', 'subscribe', 'receive'],
};

const LEVELS = ['a', 'b', '', '$s'];
const level = fc.constantFrom(...LEVELS);
const ruleTopic = fc.oneof(
  fc
    .array(fc.constantFrom(...LEVELS, '+', '#', '${username}'), { minLength: 1, maxLength: 4 })
    .map((l) => l.map((x, i) => (x === '#' && i < l.length - 1 ? 'a' : x)).join('/'))
    .filter((t) => t.length > 0),
  fc.constantFrom('u/${username}/x', '${username}/#', 'u/${username}/+'),
);
const docRule = fc.record({
  effect: fc.constantFrom<Effect>('allow', 'allow', 'deny'),
  actions: fc.array(fc.constantFrom<Word>('publish', 'subscribe', 'receive', 'read', 'write', 'all'), {
    minLength: 1,
    maxLength: 2,
  }),
  topics: fc.array(ruleTopic, { minLength: 1, maxLength: 2 }),
});
const ROLE_NAMES = Array.from({ length: 12 }, (_, i) => `r${i}`);
const roles = fc.array(fc.array(docRule, { maxLength: 5 }), { minLength: 12, maxLength: 12 });
const username = fc.constantFrom('al', 'b', 'a', '$s', 'a/b', '+', '#', '', undefined);
const request = fc.oneof(
  fc.record({
    action: fc.constantFrom('publish', 'receive') as fc.Arbitrary<'publish' | 'receive'>,
    topic: fc
      .array(level, { minLength: 1, maxLength: 4 })
      .map((l) => l.join('/'))
      .filter((t) => t.length > 0),
  }),
  fc.record({
    action: fc.constant('subscribe' as const),
    topic: fc
      .array(fc.constantFrom(...LEVELS, 'al', '+', '#'), { minLength: 1, maxLength: 4 })
      .map((l) => l.map((x, i) => (x === '#' && i < l.length - 1 ? 'b' : x)).join('/'))
      .filter((t) => t.length > 0),
    deliveryChecked: fc.boolean(),
  }),
);

/** The rules a plain scan sees for the principal: its roles' rules, in file order, templates rendered. */
function scanRules(doc: DocRule[][], p: Principal) {
  const out: { order: number; id: string; effect: Effect; actions: Set<string>; filter?: string }[] = [];
  let order = 0;
  doc.forEach((rules, r) => {
    rules.forEach((rule, index) => {
      const mine = p.roles.includes(ROLE_NAMES[r]!);
      for (const topic of rule.topics) {
        if (!mine) continue;
        let filter: string | undefined = topic;
        if (topic.includes('${username}')) {
          const atStart = topic.startsWith('${username}');
          const u = p.username;
          filter =
            u !== undefined && isSafePlaceholderValue(u, atStart)
              ? topic.replaceAll('${username}', u)
              : undefined;
        }
        const actions = new Set(rule.actions.flatMap((w) => EXPAND[w]));
        out.push({
          order,
          id: `role:${ROLE_NAMES[r]}#${index}`,
          effect: rule.effect,
          actions,
          ...(filter !== undefined && { filter }),
        });
      }
      order++;
    });
  });
  return out;
}

/** The rules that apply to the request, by the definitions (no index). */
function applicable(doc: DocRule[][], p: Principal, req: AccessRequest) {
  const plain = req.topic.startsWith('$share/') ? req.topic.split('/').slice(2).join('/') : req.topic;
  return scanRules(doc, p).filter((rule) => {
    const { filter } = rule;
    if (req.action !== 'subscribe') {
      if (!rule.actions.has(req.action)) return false;
      // A placeholder without a safe value: an allow never matches, a deny matches every topic.
      return filter === undefined ? rule.effect === 'deny' : matchTopic(filter, plain);
    }
    if (rule.effect === 'deny') {
      const onSubscribe = rule.actions.has('subscribe');
      const onReceive = rule.actions.has('receive') && req.deliveryChecked !== true;
      if (!onSubscribe && !onReceive) return false;
      return filter === undefined || filtersOverlap(filter, plain);
    }
    return rule.actions.has('subscribe') && filter !== undefined && filterCovers(filter, plain);
  });
}

function docOf(rolesDoc: DocRule[][], combining: 'deny-overrides' | 'first-applicable') {
  return {
    version: 1,
    combining,
    roles: Object.fromEntries(ROLE_NAMES.map((name, i) => [name, { rules: rolesDoc[i]! }])),
  };
}

describe('indexed decisions equal a plain scan of the principal’s rules', () => {
  const held = fc.subarray(ROLE_NAMES, { minLength: 0 });

  it('deny-overrides: any applicable deny refuses, else any allow grants; the named rule is one that applies', () => {
    fc.assert(
      fc.property(
        roles,
        fc.array(fc.tuple(held, username, request), { minLength: 1, maxLength: 25 }),
        (doc, cases) => {
          const policy = compilePolicy(docOf(doc, 'deny-overrides'));
          for (const [mine, user, req] of cases) {
            const p = principal({ roles: mine, ...(user !== undefined && { username: user }), id: 'p' });
            const rules = applicable(doc, p, req);
            const decision = policy.authorize(p, req);
            const deny = rules.filter((r) => r.effect === 'deny');
            const expected = deny.length === 0 && rules.length > 0;
            expect(decision.allowed, JSON.stringify({ mine, user, req })).toBe(expected);
            if (decision.reason === 'rule') {
              const from = expected ? rules : deny;
              expect(from.map((r) => r.id)).toContain(decision.rule?.id);
            } else {
              expect(rules).toEqual([]);
            }
          }
        },
      ),
      { numRuns: 250 },
    );
  });

  it('first-applicable: the first applicable rule in file order decides', () => {
    fc.assert(
      fc.property(
        roles,
        fc.array(fc.tuple(held, username, request), { minLength: 1, maxLength: 25 }),
        (doc, cases) => {
          const policy = compilePolicy(docOf(doc, 'first-applicable'));
          for (const [mine, user, req] of cases) {
            const p = principal({ roles: mine, ...(user !== undefined && { username: user }), id: 'p' });
            const rules = applicable(doc, p, req);
            const first = rules.reduce<(typeof rules)[number] | undefined>(
              (best, r) => (best === undefined || r.order < best.order ? r : best),
              undefined,
            );
            const decision = policy.authorize(p, req);
            expect(decision.allowed, JSON.stringify({ mine, user, req })).toBe(first?.effect === 'allow');
            expect(decision.rule?.id).toBe(first?.id);
          }
        },
      ),
      { numRuns: 250 },
    );
  });
});

describe('a principal’s rules only', () => {
  // 20 roles, each allowing its own topic and denying a topic of its own: role i's rules must never
  // decide for a principal without role i, whether it holds 1 role (fields) or 10 (a Set).
  const doc = {
    version: 1,
    roles: Object.fromEntries(
      Array.from({ length: 20 }, (_, i) => [
        `role${i}`,
        {
          rules: [
            { effect: 'allow', actions: ['all'], topics: [`site/${i}`, `site/${i}/+/x`, `wild/${i}/#`] },
            { effect: 'deny', actions: ['all'], topics: [`site/${i}/locked`] },
            { effect: 'allow', actions: ['all'], topics: [`site/${i}/locked`, `users/\${username}/${i}`] },
          ],
        },
      ]),
    ),
  };
  const policy = compilePolicy(doc);
  const holders = [
    { roles: ['role3'], name: 'one role' },
    {
      roles: ['role0', 'role2', 'role4', 'role6', 'role8', 'role10', 'role12', 'role14', 'role16', 'role18'],
      name: 'ten roles',
    },
  ];

  for (const { roles: mine, name } of holders) {
    it(`grants only the topics of the roles held (${name})`, () => {
      const p = principal({ roles: mine, username: 'al', id: 'al' });
      for (let i = 0; i < 20; i++) {
        const has = mine.includes(`role${i}`);
        for (const action of ['publish', 'receive', 'subscribe'] as const) {
          for (const topic of [`site/${i}`, `site/${i}/q/x`, `wild/${i}/deep/er`, `users/al/${i}`]) {
            expect(policy.authorize(p, { action, topic }).allowed, `${action} ${topic}`).toBe(has);
          }
          // Another role's deny does not refuse: its own deny does.
          expect(policy.authorize(p, { action, topic: `site/${i}/locked` }).allowed).toBe(false);
        }
        expect(policy.authorize(p, { action: 'subscribe', topic: `wild/${i}/#` }).allowed).toBe(has);
      }
    });
  }

  it('a templated rule matches only the principal’s own username, never one chosen in the topic', () => {
    const al = principal({ roles: ['role1'], username: 'al', id: 'al' });
    expect(policy.authorize(al, { action: 'publish', topic: 'users/al/1' }).allowed).toBe(true);
    for (const topic of ['users/bob/1', 'users/+/1', 'users/al/2', 'users/al', 'users/al/1/x']) {
      expect(policy.authorize(al, { action: 'publish', topic: topic.replace('+', 'q') }).allowed, topic).toBe(
        false,
      );
      expect(policy.authorize(al, { action: 'subscribe', topic }).allowed, topic).toBe(false);
    }
    // A username that is not a safe level grants nothing through the template.
    for (const username of ['+', '#', 'a/b', '']) {
      const p = principal({ roles: ['role1'], username, id: 'x' });
      for (const topic of ['users/+/1', 'users/#', 'users/a/b/1', 'users//1']) {
        expect(policy.authorize(p, { action: 'subscribe', topic }).allowed, `${username} ${topic}`).toBe(
          false,
        );
      }
      expect(policy.authorize(p, { action: 'publish', topic: 'users/a/b/1' }).allowed).toBe(false);
    }
  });
});

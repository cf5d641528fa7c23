/**
 * Round trips: a generated policy, exported (EMQX acl.conf, Mosquitto acl_file) and imported again,
 * decides every request the broker format can express exactly as the original policy.
 * FC_SEED and FC_RUNS pick the run; a failure prints the policy, the exported file and the request.
 */
import type { Principal } from '@mqtt-warden/core';
import { parsePolicy } from '@mqtt-warden/policy';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exportEmqxAcl, exportMosquittoAcl, importEmqxAcl, importMosquittoAcl } from '../src/index.js';

const SEED = Number(process.env.FC_SEED ?? 1201);
const RUNS = Number(process.env.FC_RUNS ?? 250);
/** Generous: the machines are shared, and FC_RUNS may be raised. */
const TIMEOUT = 120_000 + RUNS * 100;
const TOPICS = ['a/b', 'a/c', 'a/b/c', 'b', 'alice/x', 'carol/x', 'c1/x', 'c2/x', 'z'];

interface GeneratedRule {
  effect: 'allow' | 'deny';
  actions: readonly string[];
  topics: readonly (string | { eq: string })[];
  qos?: readonly number[];
  retain?: boolean;
  from?: readonly string[];
}

function policyYaml(doc: {
  combining: string;
  users: Record<string, string[]>;
  bindings: { when: object; roles: string[] }[];
  roles: Record<string, GeneratedRule[]>;
}): string {
  // JSON is YAML: the generated document is written as JSON.
  return JSON.stringify({
    version: 1,
    combining: doc.combining,
    defaults: { clientIds: '*' },
    users: doc.users,
    bindings: doc.bindings,
    roles: Object.fromEntries(Object.entries(doc.roles).map(([name, rules]) => [name, { rules }])),
  });
}

const principal = (username: string | undefined, clientId: string, remoteAddress: string): Principal => ({
  id: username ?? clientId,
  clientId,
  ...(username !== undefined && { username }),
  method: 'password',
  roles: [],
  attributes: {},
  remoteAddress,
});

const principals = fc.record({
  username: fc.constantFrom('alice', 'bob', 'carol', 'albert', undefined),
  clientId: fc.constantFrom('c1', 'c2'),
  address: fc.constantFrom('10.0.0.7', '192.168.1.1'),
});

// --- EMQX: every binding form, condition and topic form acl.conf has ----------------------------------

const emqxRule: fc.Arbitrary<GeneratedRule> = fc
  .record(
    {
      effect: fc.constantFrom('allow' as const, 'deny' as const),
      actions: fc.constantFrom(['publish'], ['read'], ['all'], ['subscribe'], ['write', 'read']),
      topics: fc.subarray<string | { eq: string }>(
        ['a/b', 'a/+', 'a/#', '#', 'b', '${username}/x', '${clientid}/x', { eq: 'a/b' }, { eq: 'a/+' }],
        { minLength: 1, maxLength: 3 },
      ),
      qos: fc.subarray([0, 1, 2], { minLength: 1, maxLength: 2 }),
      retain: fc.boolean(),
      from: fc.constant(['10.0.0.0/8']),
    },
    { requiredKeys: ['effect', 'actions', 'topics'] },
  )
  .map((r) => (r.effect === 'deny' && r.actions[0] === 'subscribe' ? { ...r, actions: ['receive'] } : r));

const emqxPolicy = fc
  .record({
    combining: fc.constantFrom('first-applicable', 'deny-overrides'),
    roles: fc.array(fc.array(emqxRule, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 4 }),
    grants: fc.array(
      fc.constantFrom<object | string>(
        'alice',
        'bob',
        {},
        { username: ['carol'] },
        { clientid: ['c1'] },
        { anonymous: false },
        { username: ['al*'] },
        { username: ['bob'], clientid: ['c2'] },
      ),
      { minLength: 4, maxLength: 4 },
    ),
  })
  .map(({ combining, roles, grants }) => {
    const users: Record<string, string[]> = {};
    const bindings: { when: object; roles: string[] }[] = [];
    roles.forEach((_, i) => {
      const grant = grants[i]!;
      if (typeof grant === 'string') users[grant] = [...(users[grant] ?? []), `r${i}`];
      else bindings.push({ when: grant, roles: [`r${i}`] });
    });
    return policyYaml({
      combining,
      users,
      bindings,
      roles: Object.fromEntries(roles.map((r, i) => [`r${i}`, r])),
    });
  });

describe('export emqx-acl, then import emqx-acl: the same decisions', () => {
  it(
    'on publishes and subscriptions to topic names, for random policies',
    () => {
      let compared = 0;
      fc.assert(
        fc.property(
          emqxPolicy,
          fc.array(
            fc.record({
              who: principals,
              action: fc.constantFrom('publish' as const, 'subscribe' as const),
              topic: fc.constantFrom(...TOPICS),
              qos: fc.constantFrom(0 as const, 1 as const, 2 as const),
              retain: fc.boolean(),
            }),
            { minLength: 25, maxLength: 25 },
          ),
          (yaml, requests) => {
            const exported = exportEmqxAcl(yaml, { file: 'policy.yaml' });
            expect(exported.report.refused).toEqual([]);
            const original = parsePolicy(yaml);
            const again = parsePolicy(
              importEmqxAcl(exported.text, { file: 'acl.conf', noMatch: 'deny' }).yaml,
            );
            for (const { who, action, topic, qos, retain } of requests) {
              const p = principal(who.username, who.clientId, who.address);
              // A SUBSCRIBE carries no retain flag.
              const request = { action, topic, qos, ...(action === 'publish' && { retain }) };
              const want = original.authorize(p, request).allowed;
              const got = again.authorize(p, request).allowed;
              if (got !== want) {
                expect({ yaml, acl: exported.text, who, request, got }).toEqual({
                  yaml,
                  acl: exported.text,
                  who,
                  request,
                  got: want,
                });
              }
              compared++;
            }
          },
        ),
        { numRuns: RUNS, seed: SEED },
      );
      console.log(
        `emqx-acl export → import: ${compared} requests on ${RUNS} policies (seed ${SEED}), all agreed`,
      );
      expect(compared).toBe(RUNS * 25);
    },
    TIMEOUT,
  );
});

// --- Mosquitto: user sections, general rules, patterns -----------------------------------------------

type Kind = 'user:alice' | 'user:bob' | 'general' | 'pattern';
const mosquittoRule = (kind: Kind): fc.Arbitrary<GeneratedRule> =>
  fc
    .record({
      effect: fc.constantFrom('allow' as const, 'deny' as const),
      actions: fc.constantFrom(['read'], ['write'], ['all'], ['publish', 'receive']),
      topics: fc.subarray(
        ['a/b', 'a/+', 'a/#', '#', 'b', ...(kind === 'pattern' ? ['${username}/x', '${clientid}/x'] : [])],
        {
          minLength: 1,
          maxLength: 2,
        },
      ),
    })
    .map((r) => {
      if (r.effect === 'allow') return r;
      // A Mosquitto deny refuses reads and writes; a %u deny pattern is skipped for anonymous clients.
      const topics = r.topics.filter((t) => !t.includes('${username}'));
      return { ...r, actions: ['all'], topics: topics.length > 0 ? topics : ['b'] };
    });

const mosquittoPolicy = fc
  .record({
    combining: fc.constantFrom('first-applicable', 'deny-overrides'),
    kinds: fc.array(fc.constantFrom<Kind>('user:alice', 'user:bob', 'general', 'pattern'), {
      minLength: 1,
      maxLength: 4,
    }),
  })
  .chain(({ combining, kinds }) =>
    fc.tuple(...kinds.map((k) => fc.array(mosquittoRule(k), { minLength: 1, maxLength: 3 }))).map((roles) => {
      const users: Record<string, string[]> = {};
      const bindings: { when: object; roles: string[] }[] = [];
      kinds.forEach((kind, i) => {
        const user = kind.slice(5);
        if (kind.startsWith('user:')) users[user] = [...(users[user] ?? []), `r${i}`];
        else bindings.push({ when: kind === 'general' ? { anonymous: true } : {}, roles: [`r${i}`] });
      });
      return policyYaml({
        combining,
        users,
        bindings,
        roles: Object.fromEntries(roles.map((r, i) => [`r${i}`, r])),
      });
    }),
  );

describe('export mosquitto-acl, then import mosquitto-acl: the same decisions', () => {
  it(
    'on deliveries and publishes, for random policies (or the export refuses)',
    () => {
      let exported = 0;
      let refused = 0;
      fc.assert(
        fc.property(
          mosquittoPolicy,
          fc.array(
            fc.record({
              who: principals,
              action: fc.constantFrom('publish' as const, 'receive' as const),
              topic: fc.constantFrom(...TOPICS),
            }),
            { minLength: 25, maxLength: 25 },
          ),
          (yaml, requests) => {
            const result = exportMosquittoAcl(yaml, { file: 'policy.yaml' });
            if (result.report.refused.length > 0) {
              // Only an order Mosquitto cannot keep is refused in this subset.
              expect(
                result.report.refused.every((e) => e.message.startsWith('Mosquitto would decide it before')),
              ).toBe(true);
              refused++;
              return;
            }
            exported++;
            const original = parsePolicy(yaml);
            const again = parsePolicy(importMosquittoAcl(result.text, { file: 'acl' }).yaml);
            for (const { who, action, topic } of requests) {
              const p = principal(who.username, who.clientId, who.address);
              const want = original.authorize(p, { action, topic }).allowed;
              const got = again.authorize(p, { action, topic }).allowed;
              if (got !== want) {
                expect({ yaml, acl: result.text, who, action, topic, got }).toEqual({
                  yaml,
                  acl: result.text,
                  who,
                  action,
                  topic,
                  got: want,
                });
              }
            }
          },
        ),
        { numRuns: RUNS, seed: SEED },
      );
      console.log(
        `mosquitto-acl round trip: ${exported} policies exported and compared, ${refused} refused for their order`,
      );
      expect(exported).toBeGreaterThan(RUNS / 3);
    },
    TIMEOUT,
  );
});

import type { Principal } from '@mqtt-warden/core';
import { parsePolicy } from '@mqtt-warden/policy';
import { matchTopic } from '@mqtt-warden/topic';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exportEmqxAcl, importEmqxAcl, MigrationError } from '../src/index.js';

const who = (username: string | undefined, clientId = 'c1', remoteAddress = '10.1.2.3'): Principal => ({
  id: username ?? clientId,
  clientId,
  ...(username !== undefined && { username }),
  method: 'password',
  roles: [],
  attributes: {},
  remoteAddress,
});

function load(text: string, noMatch?: 'allow' | 'deny') {
  const result = importEmqxAcl(text, { file: 'acl.conf', ...(noMatch && { noMatch }) });
  return { ...result, policy: parsePolicy(result.yaml) };
}

describe('importEmqxAcl: EMQX first-match semantics', () => {
  const { policy, report, yaml } = load(
    [
      '%% EMQX default acl.conf, then own rules',
      '{allow, {username, {re, "^dashboard$"}}, subscribe, ["$SYS/#"]}.',
      '{allow, {ipaddr, "127.0.0.1"}, all, ["$SYS/#", "#"]}.',
      '{deny, all, subscribe, ["$SYS/#", {eq, "#"}, {eq, "+/#"}]}.',
      '{deny, {user, "bob"}, publish, ["a/secret"]}.',
      '{allow, {\'or\', [{user, "bob"}, {clientid, "sensor-1"}]}, publish, ["a/#"]}.',
      '{allow, all, {publish, [{qos, [1, 2]}, {retain, true}]}, ["r/${clientid}"]}.',
      '{deny, all}.',
    ].join('\n'),
  );
  const may = (p: Principal, action: 'publish' | 'subscribe' | 'receive', topic: string, more = {}) =>
    policy.authorize(p, { action, topic, ...more }).allowed;

  it('writes first-applicable roles in file order, each rule commented with its source line', () => {
    expect(yaml).toContain('combining: first-applicable');
    expect(yaml).toContain('defaults:\n  clientIds: "*"');
    expect(yaml).toContain('# acl.conf:5: {deny, {user, "bob"}, publish, ["a/secret"]}.');
    expect(yaml.indexOf('"line-5"')).toBeLessThan(yaml.indexOf('"line-6"'));
    expect(report.refused).toEqual([]);
    expect(report.imported).toHaveLength(7);
  });

  it('the first matching rule decides: a deny before an allow wins, an allow before a deny wins', () => {
    expect(may(who('bob'), 'publish', 'a/secret')).toBe(false);
    expect(may(who('bob'), 'publish', 'a/other')).toBe(true);
    expect(may(who('eve', 'sensor-1'), 'publish', 'a/secret')).toBe(true); // the or's client id branch
    expect(may(who('eve'), 'publish', 'a/x')).toBe(false); // {deny, all}
    expect(may(who('eve', 'c1', '127.0.0.1'), 'publish', 'a/secret')).toBe(true); // ipaddr rule first
  });

  it('regex, eq, qos, retain and placeholders keep their EMQX meaning', () => {
    expect(may(who('dashboard'), 'subscribe', '$SYS/brokers')).toBe(true);
    expect(may(who('dashboard2'), 'subscribe', '$SYS/brokers')).toBe(false);
    expect(may(who('eve', 'c1', '127.0.0.1'), 'subscribe', '#')).toBe(true); // line 3 before line 4
    expect(may(who('eve', 'c1', '10.0.0.9'), 'subscribe', '#')).toBe(false);
    expect(may(who('eve', 'c7'), 'publish', 'r/c7', { qos: 1, retain: true })).toBe(true);
    expect(may(who('eve', 'c7'), 'publish', 'r/c7', { qos: 0, retain: true })).toBe(false);
    expect(may(who('eve', 'c7'), 'publish', 'r/c7', { qos: 1, retain: false })).toBe(false);
    expect(may(who('eve', 'c7'), 'publish', 'r/c8', { qos: 1, retain: true })).toBe(false);
  });

  it('no_match defaults to allow (EMQX default), written as an explicit last role and reported', () => {
    const open = load('{deny, {user, "bob"}, all, ["x/#"]}.');
    expect(open.yaml).toMatch(/"no-match":[\s\S]*effect: allow, actions: \["all"\], topics: \["#"\]/);
    expect(open.report.notes[0]).toContain('no_match = allow');
    expect(open.policy.authorize(who('eve'), { action: 'publish', topic: 'y' }).allowed).toBe(true);
    expect(open.policy.authorize(who('bob'), { action: 'publish', topic: 'x/1' }).allowed).toBe(false);
    const closed = load('{deny, {user, "bob"}, all, ["x/#"]}.', 'deny');
    expect(closed.policy.authorize(who('eve'), { action: 'publish', topic: 'y' }).allowed).toBe(false);
  });

  it('refuses what EMQX accepts but the policy cannot express, and lists it', () => {
    const { report } = load(
      [
        '{allow, {client_attr, "site", "berlin"}, all, ["a"]}.',
        '{allow, {user, {re, "^dev-[0-9]+$"}}, all, ["a"]}.',
        '{allow, all, all, ["t/${client_attrs.site}"]}.',
        '{allow, {\'and\', [{user, "a"}, {user, "b"}]}, all, ["a"]}.',
        '{allow, {user, "a*"}, all, ["a"]}.',
        '{allow, {user, {re, "^ops"}}, all, ["ops/#"]}.',
        '{allow, {user, ""}, all, ["a"]}.',
        `{allow, {'and', [${Array(7).fill(`{'or', [{user, "a"}, {clientid, "b"}]}`).join(', ')}]}, all, ["a"]}.`,
        '{deny, all, all, [{eq, "a/#/b"}]}.',
      ].join('\n'),
    );
    expect(report.refused.map((e) => e.line)).toEqual([1, 2, 3, 4, 5, 7, 8, 9]);
    expect(report.refused[7]!.message).toContain('exact topic no request can equal');
    expect(report.refused[6]!.message).toContain('more than 64 alternatives');
    expect(report.refused[0]!.message).toContain('client_attr');
    expect(report.refused[2]!.message).toContain('client_attrs.site');
    expect(report.imported.map((e) => e.line)).toEqual([6]);
  });

  it('reports changed meanings: all topics, legacy %u/%c, placeholders', () => {
    const { report, policy } = load('{allow, all, publish, ["u/%u", "c/${clientid}"]}.\n{deny, all}.');
    const messages = report.changed.map((e) => `${e.line}: ${e.message}`);
    expect(messages.some((m) => m.startsWith('1: EMQX 4.x substituted %u'))).toBe(true);
    expect(messages.some((m) => m.startsWith('1: a placeholder'))).toBe(true);
    expect(messages.some((m) => m.startsWith('2: "all" covers every topic'))).toBe(true);
    expect(policy.authorize(who('ann'), { action: 'publish', topic: 'u/ann' }).allowed).toBe(true);
  });

  it('throws a located MigrationError for a file EMQX refuses', () => {
    const bad = (text: string) => () => importEmqxAcl(text, { file: 'acl.conf' });
    expect(bad('{allow, all, pubsub, ["t"]}.')).toThrow(/^acl\.conf:1:14: the action must be publish/);
    expect(bad('{allow, all, {publish, {retain, true}}, ["t"]}.')).toThrow(/acl\.conf:1:14: .*a list/);
    expect(bad('{allow, all, {publish, [{qos, 3}]}, ["t"]}.')).toThrow(/acl\.conf:1:31: qos must be/);
    expect(bad('{permit, all}.')).toThrow(/acl\.conf:1:2: the permission must be allow or deny/);
    expect(bad('{allow, {ipaddr, "10.0.0.0/33"}, all, ["t"]}.')).toThrow(/invalid address/);
    expect(bad('{allow, all, all, "t"}.')).toThrow(/topics must be a list/);
    expect(bad('{allow, {who, "x"}, all, ["t"]}.')).toThrow(MigrationError);
  });
});

/** FC_SEED and FC_RUNS choose the random files; a failure prints the file and the request. */
const SEED = Number(process.env.FC_SEED ?? 20261201);
const RUNS = Number(process.env.FC_RUNS ?? 250);
/** Generous: the machines are shared, and FC_RUNS may be raised. */
const TIMEOUT = 120_000 + RUNS * 100;

// --- a model of EMQX 5.8 acl.conf evaluation, for random files ----------------------------------------

type Who =
  | { all: true }
  | { user: string }
  | { clientid: string }
  | { ipaddr: string }
  | { or: Who[] }
  | { and: Who[] };
interface ModelRule {
  permission: 'allow' | 'deny';
  who: Who;
  action: 'publish' | 'subscribe' | 'all';
  qos?: number[];
  retain?: boolean;
  topics: string[]; // "eq X" for exact
}
interface Client {
  username?: string;
  clientId: string;
  address: string;
}

function whoMatches(w: Who, c: Client): boolean {
  if ('all' in w) return true;
  if ('user' in w) return c.username === w.user;
  if ('clientid' in w) return c.clientId === w.clientid;
  if ('ipaddr' in w) return w.ipaddr.endsWith('/8') ? c.address.startsWith('10.') : c.address === w.ipaddr;
  if ('or' in w) return w.or.some((x) => whoMatches(x, c));
  return w.and.every((x) => whoMatches(x, c));
}

function emqx(
  rules: readonly ModelRule[],
  c: Client,
  req: { action: 'publish' | 'subscribe'; topic: string; qos: number; retain: boolean },
): boolean {
  for (const r of rules) {
    if (!whoMatches(r.who, c)) continue;
    if (r.action !== 'all' && r.action !== req.action) continue;
    if (r.qos && !r.qos.includes(req.qos)) continue;
    if (req.action === 'publish' && r.retain !== undefined && r.retain !== req.retain) continue;
    const hit = r.topics.some((t) => {
      if (t.startsWith('eq ')) return t.slice(3) === req.topic;
      const rendered = t.replace('${username}', c.username ?? 'undefined').replace('${clientid}', c.clientId);
      return matchTopic(rendered, req.topic); // subscribe filters here are literal: same as a name
    });
    if (hit) return r.permission === 'allow';
  }
  return true; // no_match = allow
}

const erlWho = (w: Who): string => {
  if ('all' in w) return 'all';
  if ('user' in w) return `{user, "${w.user}"}`;
  if ('clientid' in w) return `{clientid, "${w.clientid}"}`;
  if ('ipaddr' in w) return `{ipaddr, "${w.ipaddr}"}`;
  return `{'${'or' in w ? 'or' : 'and'}', [${('or' in w ? w.or : w.and).map(erlWho).join(', ')}]}`;
};

function erl(r: ModelRule): string {
  const opts = [
    r.qos && `{qos, [${r.qos.join(',')}]}`,
    r.retain !== undefined && `{retain, ${r.retain}}`,
  ].filter(Boolean);
  const action = opts.length ? `{${r.action}, [${opts.join(', ')}]}` : r.action;
  const topics = r.topics.map((t) => (t.startsWith('eq ') ? `{eq, "${t.slice(3)}"}` : `"${t}"`));
  return `{${r.permission}, ${erlWho(r.who)}, ${action}, [${topics.join(', ')}]}.`;
}

const leaf = fc.oneof(
  fc.constant<Who>({ all: true }),
  fc.constantFrom<Who>({ user: 'alice' }, { user: 'bob' }, { clientid: 'c1' }, { clientid: 'c2' }),
  fc.constantFrom<Who>({ ipaddr: '10.0.0.0/8' }, { ipaddr: '192.168.1.1' }),
);
const whoArb: fc.Arbitrary<Who> = fc.oneof(
  { weight: 4, arbitrary: leaf },
  { weight: 1, arbitrary: fc.array(leaf, { minLength: 1, maxLength: 2 }).map((or) => ({ or })) },
  { weight: 1, arbitrary: fc.tuple(leaf, leaf).map((and) => ({ and })) },
);
const ruleArb: fc.Arbitrary<ModelRule> = fc.record(
  {
    permission: fc.constantFrom('allow', 'deny'),
    who: whoArb,
    action: fc.constantFrom('publish', 'subscribe', 'all'),
    qos: fc.option(fc.subarray([0, 1, 2], { minLength: 1 }), { nil: undefined }),
    retain: fc.option(fc.boolean(), { nil: undefined }),
    topics: fc.subarray(['a/b', 'a/+', 'a/#', '#', 'b', '${username}/x', '${clientid}/x', 'eq a/b', 'eq b'], {
      minLength: 1,
      maxLength: 3,
    }),
  },
  { requiredKeys: ['permission', 'who', 'action', 'topics'] },
);
const requestArb = fc.record({
  client: fc.record({
    username: fc.constantFrom('alice', 'bob', 'carol'),
    clientId: fc.constantFrom('c1', 'c2', 'c3'),
    address: fc.constantFrom('10.0.0.7', '192.168.1.1', '172.16.0.1'),
  }),
  action: fc.constantFrom('publish' as const, 'subscribe' as const),
  topic: fc.constantFrom('a/b', 'a/c', 'a/b/c', 'b', 'alice/x', 'bob/x', 'c1/x', 'c2/x', 'z'),
  qos: fc.constantFrom(0, 1, 2),
  retain: fc.boolean(),
});

describe('importEmqxAcl agrees with a model of EMQX on random files', () => {
  it(
    'every request on literal topics, named clients, no_match = allow',
    () => {
      let compared = 0;
      fc.assert(
        fc.property(
          fc.array(ruleArb, { minLength: 1, maxLength: 8 }),
          fc.array(requestArb, { minLength: 20, maxLength: 20 }),
          (rules, requests) => {
            const { policy, report } = load(rules.map(erl).join('\n'));
            // An 'and' of two different users or clients cannot be one binding: refused, and skipped here.
            if (report.refused.length > 0) return;
            for (const { client, action, topic, retain, qos: asked } of requests) {
              // The policy asks subscriptions for QoS levels up to the one requested; EMQX the one requested.
              const qos = action === 'subscribe' ? 0 : asked;
              const principal = who(client.username, client.clientId, client.address);
              const got = policy.authorize(principal, { action, topic, qos, retain }).allowed;
              const want = emqx(rules, client, { action, topic, qos, retain });
              expect({ acl: rules.map(erl), client, action, topic, qos, retain, got }).toEqual({
                acl: rules.map(erl),
                client,
                action,
                topic,
                qos,
                retain,
                got: want,
              });
              compared++;
            }
          },
        ),
        { numRuns: RUNS, seed: SEED },
      );
      console.log(
        `emqx-acl vs the EMQX model: ${compared} requests on ${RUNS} files (seed ${SEED}), all agreed`,
      );
      expect(compared).toBeGreaterThan(RUNS * 5);
    },
    TIMEOUT,
  );
});

describe('import emqx-acl → export emqx-acl → import emqx-acl', () => {
  it(
    'the second import decides every publish and literal subscription as the first',
    () => {
      let compared = 0;
      fc.assert(
        fc.property(
          fc.array(ruleArb, { minLength: 1, maxLength: 8 }),
          fc.constantFrom<'allow' | 'deny'>('allow', 'deny'),
          fc.array(requestArb, { minLength: 20, maxLength: 20 }),
          (rules, noMatch, requests) => {
            const first = importEmqxAcl(rules.map(erl).join('\n'), { file: 'acl.conf', noMatch });
            if (first.report.refused.length > 0) return;
            const exported = exportEmqxAcl(first.yaml, { file: 'policy.yaml' });
            expect(exported.report.refused).toEqual([]);
            const a = parsePolicy(first.yaml);
            const b = parsePolicy(importEmqxAcl(exported.text, { file: 'exported.conf' }).yaml);
            for (const { client, action, topic, retain, qos } of requests) {
              const p = who(client.username, client.clientId, client.address);
              const request = { action, topic, qos, ...(action === 'publish' && { retain }) };
              const want = a.authorize(p, request).allowed;
              const got = b.authorize(p, request).allowed;
              if (got !== want)
                expect({ acl: exported.text, client, request, got }).toEqual({
                  acl: exported.text,
                  client,
                  request,
                  got: want,
                });
              compared++;
            }
          },
        ),
        { numRuns: RUNS, seed: SEED },
      );
      console.log(
        `emqx-acl import → export → import: ${compared} requests on ${RUNS} files (seed ${SEED}), all agreed`,
      );
      expect(compared).toBeGreaterThan(RUNS * 5);
    },
    TIMEOUT,
  );
});

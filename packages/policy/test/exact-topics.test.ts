import type { AccessRequest, PrincipalRule } from '@mqtt-warden/core';
import { formatExplanation, PolicyError, type PolicyIssue, parsePolicy } from '@mqtt-warden/policy';
import { describe, expect, it } from 'vitest';
import { policy, principal } from './helpers.js';

const publish = (topic: string): AccessRequest => ({ action: 'publish', topic });
const receive = (topic: string): AccessRequest => ({ action: 'receive', topic });
const subscribe = (topic: string, deliveryChecked?: boolean): AccessRequest => ({
  action: 'subscribe',
  topic,
  ...(deliveryChecked ? { deliveryChecked } : {}),
});

describe('exact topics in the policy document ({ eq })', () => {
  const p = policy(
    'version: 1',
    'users: { u: [r] }',
    'roles:',
    '  r:',
    '    rules:',
    '      - { effect: allow, actions: all, topics: [{ eq: "a/+" }, { eq: "t/${username}" }, { eq: "x/y" }] }',
    '      - { effect: allow, actions: read, topics: ["open/#"] }',
    '      - { effect: deny, actions: subscribe, topics: [{ eq: "open/#" }] }',
  );
  const u = principal({ username: 'u' });
  const allowed = (request: AccessRequest) => p.authorize(u, request).allowed;

  it('an exact wildcard filter allows subscribing to exactly that filter and publishing nowhere', () => {
    expect(allowed(subscribe('a/+'))).toBe(true);
    expect(allowed(subscribe('$share/g/a/+'))).toBe(true);
    expect(allowed(subscribe('a/b'))).toBe(false);
    expect(allowed(subscribe('a/#'))).toBe(false);
    expect(allowed(subscribe('+/+'))).toBe(false);
    expect(allowed(publish('a/b'))).toBe(false);
    expect(allowed(receive('a/b'))).toBe(false);
  });

  it('renders no placeholder: t/${username} matches only that string', () => {
    expect(allowed(publish('t/${username}'))).toBe(true);
    expect(allowed(subscribe('t/${username}'))).toBe(true);
    expect(allowed(publish('t/u'))).toBe(false);
    expect(allowed(subscribe('t/u'))).toBe(false);
  });

  it('an exact name matches that name for publish, receive and subscribe', () => {
    expect(allowed(publish('x/y'))).toBe(true);
    expect(allowed(receive('x/y'))).toBe(true);
    expect(allowed(subscribe('x/y'))).toBe(true);
    expect(allowed(subscribe('x/+'))).toBe(false);
  });

  it('an exact deny refuses exactly that subscription, not the filters it overlaps', () => {
    expect(allowed(subscribe('open/#'))).toBe(false);
    expect(p.authorize(u, subscribe('open/#')).message).toMatch(/exact topic "open\/#"/);
    expect(allowed(subscribe('open/x/#'))).toBe(true);
    expect(allowed(subscribe('open/+'))).toBe(true);
    expect(allowed(receive('open/x'))).toBe(true);
  });

  it('explain names the rule with its exact topic', () => {
    const text = formatExplanation(p.explain(u, subscribe('open/#')));
    expect(text).toMatch(/deny +subscribe rule #2 of role r \(test.yaml:8:9\), exact topic "open\/#"/);
  });
});

describe('exact topics: located load errors', () => {
  function issuesOf(text: string): PolicyIssue[] {
    try {
      parsePolicy(text, { file: 'p.yaml' });
    } catch (error) {
      expect(error).toBeInstanceOf(PolicyError);
      return [...(error as PolicyError).issues];
    }
    throw new Error('the policy loaded but should not have');
  }
  const doc = (topics: string) =>
    [
      'version: 1',
      'roles:',
      '  r:',
      '    rules:',
      `      - { effect: allow, actions: all, topics: ${topics} }`,
    ].join('\n');

  it('loads a topic list that mixes filters and exact topics', () => {
    expect(parsePolicy(doc('["a/#", { eq: "#" }]')).ruleCount).toBe(1);
  });

  it('reports an exact topic no request could equal, at its "eq" key', () => {
    const [issue] = issuesOf(doc('["ok", { eq: "a/#/b" }]'));
    expect(issue).toMatchObject({ line: 5, path: ['roles', 'r', 'rules', 0, 'topics', 1, 'eq'] });
    expect(issue!.message).toMatch(/exact topic "a\/#\/b" is neither a topic name nor a subscription filter/);
  });

  it('reports an unknown key of an exact topic with the allowed one', () => {
    const issues = issuesOf(doc('[{ equals: "a" }]'));
    expect(issues.map((i) => [i.line, i.path.join('.'), i.message])).toEqual([
      [5, 'roles.r.rules.0.topics.0.eq', expect.stringMatching(/write the exact topic as a string/)],
      [5, 'roles.r.rules.0.topics.0', expect.stringMatching(/unknown key "equals".*allowed keys: eq/)],
    ]);
  });

  it("reports a bad exact topic together with the document's other mistakes", () => {
    const text = doc('[{ eq: "a/#/b" }]').replace('version: 1', 'version: 1\nusers: { u: [nope] }');
    expect(issuesOf(text).map((i) => i.path.join('.'))).toEqual(['users.u.0', 'roles.r.rules.0.topics.0.eq']);
  });

  it('still reports an invalid filter string at the topic', () => {
    const [issue] = issuesOf(doc('[{ eq: "a" }, "a/#/x"]'));
    expect(issue!.path).toEqual(['roles', 'r', 'rules', 0, 'topics', 1]);
    expect(issue!.message).toMatch(/^invalid topic filter "a\/#\/x"/);
  });
});

describe("a principal's own rules", () => {
  const empty = policy('version: 1', 'roles: {}');
  const own = (...rules: PrincipalRule[]) => principal({ clientId: 'dev1', rules });
  const can = (who: ReturnType<typeof own>, request: AccessRequest) => empty.authorize(who, request).allowed;

  it('retain is a match condition: an allow with retain true grants only retained publishes', () => {
    const who = own({ effect: 'allow', actions: ['publish'], topics: ['t'], retain: true });
    expect(can(who, { action: 'publish', topic: 't', retain: true })).toBe(true);
    expect(can(who, { action: 'publish', topic: 't', retain: false })).toBe(false);
    expect(can(who, { action: 'publish', topic: 't' })).toBe(false);
  });

  it('a deny with retain false denies only non-retained publishes', () => {
    const who = own(
      { effect: 'allow', actions: ['publish'], topics: ['t'] },
      { effect: 'deny', actions: ['publish'], topics: ['t'], retain: false },
    );
    expect(can(who, { action: 'publish', topic: 't', retain: true })).toBe(true);
    expect(can(who, { action: 'publish', topic: 't', retain: false })).toBe(false);
  });

  it('exact topics are never rendered and keep their exact meaning', () => {
    const who = own(
      { effect: 'allow', actions: ['publish', 'subscribe'], topics: [{ eq: 'devices/${clientid}/cmd' }] },
      { effect: 'allow', actions: ['subscribe'], topics: [{ eq: 'a/+' }] },
    );
    expect(can(who, publish('devices/${clientid}/cmd'))).toBe(true);
    expect(can(who, publish('devices/dev1/cmd'))).toBe(false);
    expect(can(who, subscribe('devices/${clientid}/cmd'))).toBe(true);
    expect(can(who, subscribe('a/+'))).toBe(true);
    expect(can(who, subscribe('a/b'))).toBe(false);
    expect(can(who, publish('a/b'))).toBe(false);
  });

  it('an exact receive deny of a name refuses overlapping subscriptions unless deliveries are checked', () => {
    const who = own(
      { effect: 'allow', actions: ['subscribe', 'receive'], topics: ['s/#'] },
      { effect: 'deny', actions: ['receive'], topics: [{ eq: 's/secret' }, { eq: 's/+' }] },
    );
    expect(can(who, receive('s/secret'))).toBe(false);
    expect(can(who, receive('s/other'))).toBe(true);
    expect(can(who, subscribe('s/#'))).toBe(false);
    expect(can(who, subscribe('s/+'))).toBe(false);
    expect(can(who, subscribe('s/#', true))).toBe(true);
    expect(can(who, subscribe('s/other/#'))).toBe(true);
  });

  it('an empty topic list matches nothing', () => {
    const who = own(
      { effect: 'allow', actions: ['publish'], topics: ['t'] },
      { effect: 'deny', actions: ['publish'], topics: [] },
    );
    expect(can(who, publish('t'))).toBe(true);
  });
});

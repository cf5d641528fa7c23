/**
 * EMQX ACL claims (v1 and v2) keep EMQX's meaning end to end: a real HS256 JWT carrying the claim is
 * authenticated through the EMQX authn endpoint, and each request is then decided as EMQX would with
 * our reply: the reply's `acl` first (EMQX's client_info source, first match wins), then our authz
 * endpoint for what it does not match. The expected answers come from a model of EMQX's rule
 * semantics (shared/reference/emqx.md §3.5, §4.3) applied to the original claim.
 */
import { createHmac } from 'node:crypto';
import { type Authenticator, createGuard, type Principal } from '@mqtt-warden/core';
import { type AclExport, emqxPlugin } from '@mqtt-warden/emqx';
import { createJwtAuthenticator } from '@mqtt-warden/jwt';
import { compilePolicy } from '@mqtt-warden/policy';
import { matchTopic } from '@mqtt-warden/topic';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SECRET = 'an HS256 secret of at least thirty-two bytes';

function sign(claims: object): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}

// --- a model of EMQX's rule matching ------------------------------------------------------------------
interface EmqxRequest {
  readonly action: 'publish' | 'subscribe';
  readonly topic: string;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
}
type RawRule = Record<string, unknown>;
type Verdict = 'allow' | 'deny' | 'nomatch';

/** EMQX's subscribe check: the filter compared word by word; `+` in the rule takes any word, `#` the rest. */
function emqxSubscribeMatch(filter: string, rule: string): boolean {
  const f = filter.split('/');
  const r = rule.split('/');
  for (let i = 0; i < r.length; i++) {
    if (r[i] === '#') return true;
    if (i >= f.length || (r[i] !== '+' && r[i] !== f[i])) return false;
  }
  return f.length === r.length;
}

function topicMatches(topic: string, request: EmqxRequest): boolean {
  if (topic.startsWith('eq ')) return topic.slice(3) === request.topic;
  return request.action === 'publish'
    ? matchTopic(topic, request.topic)
    : emqxSubscribeMatch(request.topic, topic);
}

function retainMatches(value: unknown, retain: boolean): boolean {
  if (value === undefined || value === null || value === 'all') return true;
  const wanted = value === true || value === 'true' || value === 1 || value === '1';
  return wanted === retain;
}

function ruleMatches(rule: RawRule, request: EmqxRequest): boolean {
  const action = String(rule.action);
  const kind = action === 'pub' ? 'publish' : action === 'sub' ? 'subscribe' : action;
  if (kind !== 'all' && kind !== request.action) return false;
  const qos = rule.qos === undefined ? [0, 1, 2] : (rule.qos as number[]);
  if (!qos.includes(request.qos)) return false;
  // `retain` is a condition on publishes only.
  if (request.action === 'publish' && !retainMatches(rule.retain, request.retain)) return false;
  const topics = (rule.topic !== undefined ? [rule.topic] : rule.topics) as string[];
  return topics.some((topic) => topicMatches(topic, request));
}

/** v2: first matching rule decides; none → nomatch (the next source decides). */
function emqxV2(rules: readonly RawRule[], request: EmqxRequest): Verdict {
  const rule = rules.find((r) => ruleMatches(r, request));
  return rule ? (rule.permission as 'allow' | 'deny') : 'nomatch';
}

/** v1: allow lists; nothing matched → deny, never nomatch. */
function emqxV1(claim: Record<string, string[]>, request: EmqxRequest): Verdict {
  const lists = [request.action === 'publish' ? claim.pub : claim.sub, claim.all];
  const rule = { action: 'all', topics: lists.flatMap((l) => l ?? []) };
  return rule.topics.length > 0 && ruleMatches(rule, request) ? 'allow' : 'deny';
}

// --- mqtt-warden behind the EMQX endpoints --------------------------------------------------------------
const REQUESTS: readonly EmqxRequest[] = [
  { action: 'publish', topic: 't', qos: 1, retain: true },
  { action: 'publish', topic: 't', qos: 1, retain: false },
  { action: 'subscribe', topic: 't', qos: 1, retain: false },
];
const describeRequest = (r: EmqxRequest) =>
  r.action === 'subscribe' ? 'subscribe' : `publish ${r.retain ? 'retained' : 'non-retained'}`;

/** The policy of the next authorization source: nothing, or everything for the token's subject. */
const POLICIES = {
  // Each connect uses a fresh client id for the one subject: client-id binding is opted out of here.
  'grants nothing else': { version: 1, defaults: { clientIds: '*' }, roles: {} },
  'grants everything else': {
    version: 1,
    defaults: { clientIds: '*' },
    users: { dev: ['any'] },
    roles: { any: { rules: [{ effect: 'allow', actions: 'all', topics: '#' }] } },
  },
} as const;

async function endpoint(policyDocument: object, acl: AclExport) {
  const sessions = new Map<string, Principal>();
  // The username is proven by the token's sub, so `users: { dev }` applies to it.
  const jwt = createJwtAuthenticator({
    keys: { secret: SECRET },
    algorithms: ['HS256'],
    usernameClaim: 'sub',
  });
  const remembering: Authenticator = {
    name: 'jwt',
    async authenticate(request) {
      const outcome = await jwt.authenticate(request);
      if (outcome.outcome === 'allow') sessions.set(request.clientId, outcome.principal);
      return outcome;
    },
  };
  const app = Fastify();
  await app.register(emqxPlugin, {
    guard: createGuard({ authenticators: [remembering], authorizer: compilePolicy(policyDocument) }),
    resolver: { resolve: ({ clientId }) => sessions.get(clientId ?? '') },
    acl,
  });
  let next = 0;
  /** Connects with the claim; returns how EMQX would then decide each request. */
  async function connect(claim: unknown) {
    const clientid = `c${next++}`;
    const authn = await app.inject({
      method: 'POST',
      url: '/emqx/authn',
      payload: {
        username: 'dev',
        password: sign({ sub: 'dev', exp: Math.floor(Date.now() / 1000) + 3600, acl: claim }),
        clientid,
      },
    });
    const reply = authn.json();
    expect(reply.result, JSON.stringify(reply)).toBe('allow');
    const exported: RawRule[] = reply.acl ?? [];
    return async (request: EmqxRequest): Promise<boolean> => {
      const first = emqxV2(exported, request);
      if (first !== 'nomatch') return first === 'allow';
      const authz = await app.inject({
        method: 'POST',
        url: '/emqx/authz',
        payload: {
          clientid,
          username: 'dev',
          topic: request.topic,
          action: request.action,
          qos: String(request.qos),
          retain: String(request.retain && request.action === 'publish'),
        },
      });
      return authz.json().result === 'allow';
    };
  }
  return { app, connect };
}

const RETAINS = [true, false, 'all', undefined] as const;
const ACTIONS = ['publish', 'subscribe', 'all'] as const;

for (const [policyName, policyDocument] of Object.entries(POLICIES)) {
  for (const aclMode of ['deny', 'all', 'none'] as const) {
    describe(`EMQX v2 ACL claim, reply acl "${aclMode}", policy ${policyName}`, () => {
      let app: FastifyInstance;
      let connect: Awaited<ReturnType<typeof endpoint>>['connect'];
      beforeAll(async () => ({ app, connect } = await endpoint(policyDocument, aclMode)));
      afterAll(() => app.close());

      for (const permission of ['allow', 'deny'] as const) {
        for (const action of ACTIONS) {
          for (const retain of RETAINS) {
            const rule: RawRule = {
              permission,
              action,
              topic: 't',
              ...(retain === undefined ? {} : { retain }),
            };
            it(`${permission} ${action} retain ${String(retain)}`, async () => {
              const decide = await connect([rule]);
              for (const request of REQUESTS) {
                const emqx = emqxV2([rule], request);
                // nomatch falls through to the next source: the policy.
                const expected =
                  emqx === 'nomatch' ? policyName === 'grants everything else' : emqx === 'allow';
                expect(await decide(request), describeRequest(request)).toBe(expected);
              }
            });
          }
        }
      }

      it('reads retain spelled as EMQX accepts it ("true", 1, "0", null)', async () => {
        for (const retain of ['true', 1, '0', 0, 'false', '1', null]) {
          const rules: RawRule[] = [{ permission: 'allow', action: 'publish', topic: 't', retain }];
          const decide = await connect(rules);
          for (const request of REQUESTS) {
            const emqx = emqxV2(rules, request);
            const expected = emqx === 'nomatch' ? policyName === 'grants everything else' : emqx === 'allow';
            expect(
              await decide(request),
              `retain ${JSON.stringify(retain)}: ${describeRequest(request)}`,
            ).toBe(expected);
          }
        }
      });

      it('an earlier deny with retain false leaves retained publishes to a later allow', async () => {
        const rules: RawRule[] = [
          { permission: 'deny', action: 'publish', topic: 't', retain: false },
          { permission: 'allow', action: 'all', topic: 't' },
        ];
        const decide = await connect(rules);
        for (const request of REQUESTS) {
          expect(await decide(request), describeRequest(request)).toBe(emqxV2(rules, request) === 'allow');
        }
      });
    });
  }
}

describe('EMQX v1 ACL claim (no retain option): pub, sub and all lists', () => {
  let app: FastifyInstance;
  let connect: Awaited<ReturnType<typeof endpoint>>['connect'];
  beforeAll(async () => ({ app, connect } = await endpoint(POLICIES['grants nothing else'], 'all')));
  afterAll(() => app.close());

  for (const key of ['pub', 'sub', 'all'] as const) {
    it(`{ ${key}: ["t"] }`, async () => {
      const claim = { [key]: ['t'] };
      const decide = await connect(claim);
      for (const request of REQUESTS) {
        expect(await decide(request), describeRequest(request)).toBe(emqxV1(claim, request) === 'allow');
      }
    });
  }
});

describe('EMQX `eq` topics and empty topic lists are accepted and keep their meaning', () => {
  let app: FastifyInstance;
  let connect: Awaited<ReturnType<typeof endpoint>>['connect'];
  beforeAll(async () => ({ app, connect } = await endpoint(POLICIES['grants nothing else'], 'all')));
  afterAll(() => app.close());

  const at = (action: 'publish' | 'subscribe', topic: string): EmqxRequest => ({
    action,
    topic,
    qos: 0,
    retain: false,
  });
  const cases: { name: string; claim: RawRule[]; requests: EmqxRequest[] }[] = [
    {
      name: 'eq with a placeholder matches only the literal string',
      claim: [{ permission: 'allow', action: 'all', topic: 'eq devices/${clientid}/cmd' }],
      requests: [
        at('publish', 'devices/${clientid}/cmd'),
        at('subscribe', 'devices/${clientid}/cmd'),
        at('publish', 'devices/c0/cmd'),
        at('subscribe', 'devices/c0/cmd'),
      ],
    },
    {
      name: 'allow eq a/+ admits exactly the filter a/+ and no publish',
      claim: [{ permission: 'allow', action: 'all', topic: 'eq a/+' }],
      requests: [
        at('subscribe', 'a/+'),
        at('subscribe', 'a/b'),
        at('subscribe', 'a/#'),
        at('publish', 'a/b'),
      ],
    },
    {
      name: 'deny eq # refuses only the subscription #',
      claim: [
        { permission: 'deny', action: 'subscribe', topic: 'eq #' },
        { permission: 'allow', action: 'subscribe', topic: 'x/#' },
      ],
      requests: [at('subscribe', '#'), at('subscribe', 'x/#'), at('subscribe', 'x/y')],
    },
    {
      name: 'an empty topic list matches nothing',
      claim: [
        { permission: 'deny', action: 'all', topics: [] },
        { permission: 'allow', action: 'all', topics: ['t'] },
        { permission: 'allow', action: 'all', topics: [] },
      ],
      requests: [at('publish', 't'), at('subscribe', 't'), at('publish', 'u')],
    },
  ];
  for (const { name, claim, requests } of cases) {
    it(name, async () => {
      const decide = await connect(claim);
      for (const request of requests) {
        expect(await decide(request), `${request.action} ${request.topic}`).toBe(
          emqxV2(claim, request) === 'allow',
        );
      }
    });
  }
});

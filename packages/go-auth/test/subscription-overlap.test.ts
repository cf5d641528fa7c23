import { createGuard, type Principal, type PrincipalResolver } from '@mqtt-warden/core';
import { goAuthPlugin } from '@mqtt-warden/go-auth';
import { compilePolicy } from '@mqtt-warden/policy';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Property: no leak through wildcard subscriptions (ARCHITECTURE.md semantics 3). Mosquitto asks go-auth
// READ (acc=1) before every delivery, retained messages included (shared/reference/mosquitto-go-auth.md),
// so by default a subscription that overlaps a receive deny is granted and each denied delivery refused.
// With `deliveryChecked: false` (strict) such a subscription is refused at SUBSCRIBE.

const policy = compilePolicy({
  version: 1,
  users: { alice: ['reader'] },
  roles: {
    reader: {
      rules: [
        { effect: 'allow', actions: 'read', topics: 't/#' },
        { effect: 'deny', actions: 'receive', topics: 't/secret' },
      ],
    },
  },
});

const resolver: PrincipalResolver = {
  resolve: ({ username, clientId }): Principal => ({
    id: username ?? '',
    username,
    clientId: clientId ?? '',
    method: 'password',
    roles: [],
    attributes: {},
  }),
};

async function backend(deliveryChecked?: boolean): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(goAuthPlugin, {
    guard: createGuard({ authenticators: [], authorizer: policy }),
    resolver,
    responseMode: 'json',
    ...(deliveryChecked === undefined ? {} : { deliveryChecked }),
  });
  return app;
}

/** An ACL check exactly as go-auth's HTTP backend sends it in json mode (keys sorted, acc a number). */
async function acl(app: FastifyInstance, acc: 1 | 2 | 4, topic: string): Promise<'grant' | 'deny'> {
  const res = await app.inject({
    method: 'POST',
    url: '/mosquitto/acl',
    headers: { 'content-type': 'application/json', 'user-agent': 'mosquitto-2.0.11' },
    payload: `{"acc":${acc},"clientid":"c1","topic":${JSON.stringify(topic)},"username":"alice"}`,
  });
  expect(res.statusCode).toBe(200);
  return res.json<{ ok: boolean }>().ok ? 'grant' : 'deny';
}

describe('go-auth /acl and a receive deny', () => {
  const apps: Record<'default' | 'strict', FastifyInstance> = {} as never;
  beforeAll(async () => {
    apps.default = await backend();
    apps.strict = await backend(false);
  });
  afterAll(async () => {
    await apps.default.close();
    await apps.strict.close();
  });

  it.each([
    // filter, default (delivery-checked), strict
    ['t/#', 'grant', 'deny'],
    ['t/+', 'grant', 'deny'],
    ['t/secret', 'grant', 'deny'],
    ['t/public', 'grant', 'grant'],
    ['t/public/#', 'grant', 'grant'],
    // Not covered by the allow: refused either way.
    ['+/secret', 'deny', 'deny'],
    ['#', 'deny', 'deny'],
  ] as const)('SUBSCRIBE (acc=4) %s → %s by default, %s when strict', async (filter, byDefault, strict) => {
    expect(await acl(apps.default, 4, filter)).toBe(byDefault);
    expect(await acl(apps.strict, 4, filter)).toBe(strict);
  });

  it('filters each delivery of a granted overlapping subscription with READ (acc=1), as Mosquitto asks it', async () => {
    // SUBSCRIBE t/# is granted; Mosquitto then asks READ for every message it would deliver, retained too.
    expect(await acl(apps.default, 4, 't/#')).toBe('grant');
    const deliveries = ['t/public', 't/secret', 't/a/b', 't/secret/sub', 't'];
    const answers = await Promise.all(deliveries.map((topic) => acl(apps.default, 1, topic)));
    expect(Object.fromEntries(deliveries.map((topic, i) => [topic, answers[i]]))).toEqual({
      't/public': 'grant',
      't/secret': 'deny',
      't/a/b': 'grant',
      't/secret/sub': 'grant',
      t: 'grant',
    });
  });

  it('reads acc=4 in form mode too (acc a decimal string)', async () => {
    const res = await apps.default.inject({
      method: 'POST',
      url: '/mosquitto/acl',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'acc=4&clientid=c1&topic=t%2F%23&username=alice',
    });
    expect(res.json()).toEqual({ ok: true, error: '' });
  });

  it('never lets a delivery-checked subscription widen publishing', async () => {
    expect(await acl(apps.default, 2, 't/public')).toBe('deny');
  });
});

import { createGuard, type Principal, type PrincipalResolver } from '@mqtt-warden/core';
import { goAuthPlugin } from '@mqtt-warden/go-auth';
import { compilePolicy } from '@mqtt-warden/policy';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';

// Property: no leak through wildcard subscriptions (ARCHITECTURE.md semantics 3). Mosquitto has no
// per-delivery check, so a subscription that overlaps a receive deny must be refused here.

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

describe('go-auth /acl and a receive deny', () => {
  it.each([
    ['t/#', 'deny'],
    ['t/+', 'deny'],
    ['+/secret', 'deny'],
    ['#', 'deny'],
    ['t/public', 'grant'],
    ['t/public/#', 'grant'],
  ])('subscribing to %s → %s', async (topic, expected) => {
    const app = Fastify();
    await app.register(goAuthPlugin, {
      guard: createGuard({ authenticators: [], authorizer: policy }),
      resolver,
    });
    const res = await app.inject({
      method: 'POST',
      url: '/mosquitto/acl',
      payload: { acc: 4, clientid: 'c1', topic, username: 'alice' },
    });
    expect(res.statusCode === 200 ? 'grant' : 'deny').toBe(expected);
    await app.close();
  });
});

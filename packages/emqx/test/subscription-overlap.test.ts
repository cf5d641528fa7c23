import { createGuard, type Principal, type PrincipalResolver } from '@mqtt-warden/core';
import { emqxPlugin } from '@mqtt-warden/emqx';
import { compilePolicy } from '@mqtt-warden/policy';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';

// Property: no leak through wildcard subscriptions (ARCHITECTURE.md semantics 3). EMQX has no
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

describe('EMQX /emqx/authz and a receive deny', () => {
  it.each([
    ['t/#', 'deny'],
    ['t/+', 'deny'],
    ['+/secret', 'deny'],
    ['$share/g/t/#', 'deny'],
    ['t/public', 'allow'],
    ['t/public/#', 'allow'],
  ])('subscribing to %s → %s', async (topic, expected) => {
    const app = Fastify();
    await app.register(emqxPlugin, {
      guard: createGuard({ authenticators: [], authorizer: policy }),
      resolver,
    });
    const res = await app.inject({
      method: 'POST',
      url: '/emqx/authz',
      payload: { username: 'alice', clientid: 'c1', action: 'subscribe', topic },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ result: expected });
    await app.close();
  });
});

import { createGuard, type Principal, type PrincipalResolver } from '@mqtt-warden/core';
import { compilePolicy } from '@mqtt-warden/policy';
import { rabbitMqPlugin } from '@mqtt-warden/rabbitmq';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';

// Property: no leak through wildcard subscriptions (ARCHITECTURE.md semantics 3). RabbitMQ has no
// per-delivery check, so a read on a routing-key pattern that overlaps a receive deny must be refused.

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

describe('RabbitMQ topic_path and a receive deny', () => {
  it.each([
    ['t.#', 'deny'],
    ['t.*', 'deny'],
    ['*.secret', 'deny'],
    ['t.public', 'allow'],
    ['t.public.#', 'allow'],
  ])('reading %s → %s', async (routingKey, expected) => {
    const app = Fastify();
    await app.register(rabbitMqPlugin, {
      guard: createGuard({ authenticators: [], authorizer: policy }),
      resolver,
    });
    const query = new URLSearchParams({
      username: 'alice',
      vhost: '/',
      resource: 'topic',
      name: 'amq.topic',
      permission: 'read',
      routing_key: routingKey,
      'variable_map.client_id': 'c1',
    });
    const res = await app.inject({ method: 'GET', url: `/rabbitmq/topic?${query}` });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe(expected);
    await app.close();
  });
});

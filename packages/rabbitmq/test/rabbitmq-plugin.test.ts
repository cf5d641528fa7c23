import type { AddressInfo } from 'node:net';
import {
  type Authenticator,
  type Authorizer,
  createGuard,
  type Principal,
  type PrincipalResolver,
  UnavailableError,
} from '@mqtt-warden/core';
import { type RabbitMqPluginOptions, rabbitMqPlugin, routingKeyToTopic } from '@mqtt-warden/rabbitmq';
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PASSWORDS: Record<string, string | Buffer> = {
  alice: 'alice-secret',
  bin: Buffer.from([0xff, 0xfe, 0x00, 0x41]),
};
const principal = (username: string, clientId: string): Principal => ({
  id: username,
  username,
  clientId,
  method: 'password',
  roles: [],
  attributes: {},
});

const seen: { action: string; topic: string }[] = [];
const authenticator: Authenticator = {
  name: 'inline',
  authenticate({ username, password, clientId }) {
    if (username === 'down') throw new UnavailableError('store down');
    const expected = username === undefined ? undefined : PASSWORDS[username];
    if (expected === undefined || !username) return { outcome: 'ignore' };
    if (!Buffer.from(password ?? []).equals(Buffer.from(expected)))
      return { outcome: 'deny', reason: 'bad-credentials' };
    return { outcome: 'allow', principal: principal(username, clientId) };
  },
};
const authorizer: Authorizer = {
  authorize(p, request) {
    seen.push({ action: request.action, topic: request.topic });
    if (request.topic === 'crash') throw new Error('policy bug');
    const allowed = request.topic.startsWith(`devices/${p.username}/`) || request.topic === `c/${p.clientId}`;
    return { allowed, reason: allowed ? 'rule' : 'default' };
  },
};
const resolver: PrincipalResolver = {
  resolve({ username, clientId }) {
    if (username === 'resolver-down') throw new Error('store down');
    return username !== undefined && Object.hasOwn(PASSWORDS, username)
      ? principal(username, clientId ?? '')
      : undefined;
  },
};

async function build(options: Partial<RabbitMqPluginOptions> = {}) {
  const app = Fastify({ bodyLimit: 4096 });
  await app.register(rabbitMqPlugin, {
    guard: createGuard({ authenticators: [authenticator], authorizer, cache: false }),
    resolver,
    ...options,
  });
  return app;
}

/** A request as rabbitmq_auth_backend_http sends it: GET query or POST form. */
function rabbit(app: FastifyInstance, path: string, fields: Record<string, string>, method: 'GET' | 'POST') {
  const body = new URLSearchParams(fields).toString();
  return method === 'GET'
    ? app.inject({ method, url: `${path}?${body}` })
    : app.inject({
        method,
        url: path,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: body,
      });
}

describe('routingKeyToTopic (rabbitmq.md §3)', () => {
  it('maps . → /, * → +, # → # and leaves other characters alone', () => {
    expect(routingKeyToTopic('a.b.c d.é')).toBe('a/b/c d/é');
    expect(routingKeyToTopic('a.*.c')).toBe('a/+/c');
    expect(routingKeyToTopic('x.#')).toBe('x/#');
    expect(routingKeyToTopic('#')).toBe('#');
  });
});

for (const method of ['GET', 'POST'] as const) {
  describe(`RabbitMQ HTTP backend via ${method} (rabbitmq.md §2, §4)`, () => {
    let app: FastifyInstance;
    beforeAll(async () => (app = await build()));
    const ask = async (path: string, fields: Record<string, string>) => {
      const res = await rabbit(app, path, fields, method);
      return `${res.statusCode} ${res.body}`;
    };

    it('user_path: allow, deny for a wrong password / unknown user / unknown vhost, error for a store failure', async () => {
      const user = { username: 'alice', password: 'alice-secret', vhost: '/', client_id: 'p1' };
      expect(await ask('/rabbitmq/user', user)).toBe('200 allow');
      expect(await ask('/rabbitmq/user', { username: 'alice', password: 'alice-secret' })).toBe('200 allow');
      expect(await ask('/rabbitmq/user', { ...user, password: 'x' })).toBe('200 deny');
      expect(await ask('/rabbitmq/user', { ...user, username: 'mallory' })).toBe('200 deny');
      expect(await ask('/rabbitmq/user', { ...user, vhost: 'other' })).toBe('200 deny');
      expect(await ask('/rabbitmq/user', { username: 'alice' })).toBe('200 deny');
      expect(await ask('/rabbitmq/user', { ...user, username: 'down' })).toBe('500 error');
    });

    it('vhost_path: allow a known user on a configured vhost only', async () => {
      const vhost = { username: 'alice', vhost: '/', ip: '::ffff:127.0.0.1', tags: '', client_id: 'p1' };
      expect(await ask('/rabbitmq/vhost', vhost)).toBe('200 allow');
      expect(await ask('/rabbitmq/vhost', { ...vhost, vhost: 'other' })).toBe('200 deny');
      expect(await ask('/rabbitmq/vhost', { ...vhost, username: 'mallory' })).toBe('200 deny');
      expect(await ask('/rabbitmq/vhost', { ...vhost, username: 'resolver-down' })).toBe('500 error');
    });

    it('resource_path: the MQTT plugin subscription queue of the client itself and amq.topic read/write', async () => {
      const base = { username: 'alice', vhost: '/', tags: '', client_id: 'p1' };
      for (const permission of ['configure', 'read', 'write']) {
        for (const qos of ['0', '1']) {
          expect(
            await ask('/rabbitmq/resource', {
              ...base,
              resource: 'queue',
              name: `mqtt-subscription-p1qos${qos}`,
              permission,
            }),
          ).toBe('200 allow');
        }
      }
      expect(
        await ask('/rabbitmq/resource', {
          ...base,
          resource: 'exchange',
          name: 'amq.topic',
          permission: 'read',
        }),
      ).toBe('200 allow');
      expect(
        await ask('/rabbitmq/resource', {
          ...base,
          resource: 'exchange',
          name: 'amq.topic',
          permission: 'write',
        }),
      ).toBe('200 allow');
      // Not what the MQTT plugin needs: another client's queue, other queues and exchanges, configure on the exchange.
      expect(
        await ask('/rabbitmq/resource', {
          ...base,
          resource: 'queue',
          name: 'mqtt-subscription-p2qos0',
          permission: 'read',
        }),
      ).toBe('200 deny');
      expect(
        await ask('/rabbitmq/resource', { ...base, resource: 'queue', name: 'orders', permission: 'read' }),
      ).toBe('200 deny');
      const { client_id: _, ...amqp } = base;
      expect(
        await ask('/rabbitmq/resource', {
          ...amqp,
          resource: 'queue',
          name: 'mqtt-subscription-p1qos0',
          permission: 'read',
        }),
      ).toBe('200 deny');
      expect(
        await ask('/rabbitmq/resource', {
          ...base,
          resource: 'exchange',
          name: 'amq.direct',
          permission: 'write',
        }),
      ).toBe('200 deny');
      expect(
        await ask('/rabbitmq/resource', {
          ...base,
          resource: 'exchange',
          name: 'amq.topic',
          permission: 'configure',
        }),
      ).toBe('200 deny');
      expect(
        await ask('/rabbitmq/resource', {
          ...base,
          vhost: 'other',
          resource: 'exchange',
          name: 'amq.topic',
          permission: 'read',
        }),
      ).toBe('200 deny');
      expect(
        await ask('/rabbitmq/resource', {
          ...base,
          username: 'mallory',
          resource: 'exchange',
          name: 'amq.topic',
          permission: 'read',
        }),
      ).toBe('200 deny');
    });

    it('topic_path: write → publish, read → subscribe, on the MQTT topic behind the routing key', async () => {
      const base = {
        username: 'alice',
        vhost: '/',
        resource: 'topic',
        name: 'amq.topic',
        tags: '',
        'variable_map.client_id': 'p1',
        'variable_map.username': 'alice',
        'variable_map.vhost': '/',
      };
      seen.length = 0;
      expect(
        await ask('/rabbitmq/topic', { ...base, permission: 'write', routing_key: 'devices.alice.t' }),
      ).toBe('200 allow');
      expect(
        await ask('/rabbitmq/topic', { ...base, permission: 'read', routing_key: 'devices.alice.*' }),
      ).toBe('200 allow');
      expect(await ask('/rabbitmq/topic', { ...base, permission: 'write', routing_key: 'c.p1' })).toBe(
        '200 allow',
      );
      expect(seen).toEqual([
        { action: 'publish', topic: 'devices/alice/t' },
        { action: 'subscribe', topic: 'devices/alice/+' },
        { action: 'publish', topic: 'c/p1' },
      ]);
      expect(
        await ask('/rabbitmq/topic', { ...base, permission: 'write', routing_key: 'devices.bob.t' }),
      ).toBe('200 deny');
      expect(await ask('/rabbitmq/topic', { ...base, permission: 'read', routing_key: '#' })).toBe(
        '200 deny',
      );
      expect(
        await ask('/rabbitmq/topic', {
          ...base,
          name: 'amq.direct',
          permission: 'write',
          routing_key: 'devices.alice.t',
        }),
      ).toBe('200 deny');
      expect(
        await ask('/rabbitmq/topic', {
          ...base,
          username: 'mallory',
          permission: 'write',
          routing_key: 'devices.mallory.t',
        }),
      ).toBe('200 deny');
      expect(await ask('/rabbitmq/topic', { ...base, permission: 'write', routing_key: 'crash' })).toBe(
        '500 error',
      );
    });
  });
}

describe('RabbitMQ options', () => {
  it('user_path: allow TAGS for a principal with tags, dropping anything that is not one word', async () => {
    const app = await build({
      tags: (p) => (p.username === 'alice' ? ['management', 'monitoring', 'bad tag', 'x\ny', ''] : []),
    });
    const user = { username: 'alice', password: 'alice-secret', vhost: '/' };
    const res = await rabbit(app, '/rabbitmq/user', user, 'POST');
    expect(`${res.statusCode} ${res.body}`).toBe('200 allow management monitoring');
    expect((await rabbit(app, '/rabbitmq/user', { ...user, password: 'x' }, 'POST')).body).toBe('deny');
  });

  it('honours a custom exchange, vhosts and paths', async () => {
    const app = await build({ exchange: 'mqtt', vhosts: ['iot'], paths: { topic: '/t', resource: false } });
    const base = {
      username: 'alice',
      vhost: 'iot',
      resource: 'topic',
      name: 'mqtt',
      permission: 'write',
      routing_key: 'devices.alice.x',
      'variable_map.client_id': 'p',
    };
    expect((await rabbit(app, '/t', base, 'POST')).body).toBe('allow');
    expect((await rabbit(app, '/t', { ...base, name: 'amq.topic' }, 'POST')).body).toBe('deny');
    expect((await rabbit(app, '/t', { ...base, vhost: '/' }, 'POST')).body).toBe('deny');
    expect(
      (
        await rabbit(
          app,
          '/rabbitmq/resource',
          { username: 'alice', vhost: 'iot', resource: 'exchange', name: 'mqtt', permission: 'read' },
          'POST',
        )
      ).statusCode,
    ).toBe(404);
  });
});

describe('RabbitMQ bad input: 4xx JSON error (RabbitMQ refuses), never allow', () => {
  let app: FastifyInstance;
  beforeAll(async () => (app = await build()));
  const form = (url: string, payload: string) => ({
    method: 'POST' as const,
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload,
  });
  const cases: [string, InjectOptions][] = [
    ['a missing username', form('/rabbitmq/user', 'password=x')],
    ['an extra field', form('/rabbitmq/user', 'username=alice&password=alice-secret&admin=1')],
    ['a repeated field', form('/rabbitmq/user', 'username=alice&username=root&password=alice-secret')],
    [
      'an unknown permission',
      form('/rabbitmq/resource', 'username=alice&vhost=%2F&resource=exchange&name=amq.topic&permission=all'),
    ],
    [
      'an unknown resource',
      form('/rabbitmq/resource', 'username=alice&vhost=%2F&resource=binding&name=x&permission=read'),
    ],
    [
      'a topic check without routing_key',
      form('/rabbitmq/topic', 'username=alice&vhost=%2F&resource=topic&name=amq.topic&permission=write'),
    ],
    [
      'configure on topic_path',
      form(
        '/rabbitmq/topic',
        'username=alice&vhost=%2F&resource=topic&name=amq.topic&permission=configure&routing_key=a',
      ),
    ],
    ['a bad ip', form('/rabbitmq/vhost', 'username=alice&vhost=%2F&ip=nowhere')],
    [
      'a JSON body',
      { method: 'POST', url: '/rabbitmq/user', payload: { username: 'alice', password: 'alice-secret' } },
    ],
    [
      'malformed JSON',
      {
        method: 'POST',
        url: '/rabbitmq/user',
        headers: { 'content-type': 'application/json' },
        payload: '{',
      },
    ],
    [
      'text/plain',
      { method: 'POST', url: '/rabbitmq/user', headers: { 'content-type': 'text/plain' }, payload: 'allow' },
    ],
    ['a huge body', form('/rabbitmq/user', `username=alice&password=${'x'.repeat(10_000)}`)],
    [
      'a vhost that is not UTF-8',
      form('/rabbitmq/user', 'username=alice&password=alice-secret&vhost=%2F%FF'),
    ],
    ['an unknown path', form('/rabbitmq/other', 'username=alice')],
    ['PUT', { method: 'PUT', url: '/rabbitmq/user', payload: 'username=alice' }],
  ];
  for (const [name, request] of cases) {
    it(`rejects ${name}`, async () => {
      const res = await app.inject(request);
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(typeof res.json().message).toBe('string');
      expect(res.body.trim().toLowerCase()).not.toMatch(/^allow/);
    });
  }
});

for (const method of ['GET', 'POST'] as const) {
  describe(`RabbitMQ values are bytes first, via ${method} (issue 10 item 5, issue 11 item 7)`, () => {
    let app: FastifyInstance;
    beforeAll(async () => (app = await build()));
    const ask = async (path: string, query: string) => {
      const res =
        method === 'GET'
          ? await app.inject({ method, url: `${path}?${query}` })
          : await app.inject({
              method,
              url: path,
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              payload: query,
            });
      return `${res.statusCode} ${res.body}`;
    };

    it('authenticates a password of bytes FF FE 00 41 sent percent-encoded', async () => {
      expect(await ask('/rabbitmq/user', 'username=bin&password=%FF%FE%00A&vhost=%2F')).toBe('200 allow');
      const replaced = encodeURIComponent('\ufffd\ufffd\u0000A');
      expect(await ask('/rabbitmq/user', `username=bin&password=${replaced}&vhost=%2F`)).toBe('200 deny');
    });

    it('denies a routing key whose percent-escapes are not UTF-8 instead of reading it raw', async () => {
      const topic = 'username=alice&vhost=%2F&resource=topic&name=amq.topic&permission=write&routing_key=';
      // Read raw, `devices.alice.%FF` would be a topic the policy allows.
      expect(await ask('/rabbitmq/topic', `${topic}devices.alice.%FF`)).toBe('200 deny');
      expect(await ask('/rabbitmq/topic', `${topic}devices.alice.%C3%A9`)).toBe('200 allow');
    });
  });
}

describe('RabbitMQ over real HTTP', () => {
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    app = await build();
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(() => app.close());

  it('answers text/plain allow/deny to form POSTs and GETs', async () => {
    const post = await fetch(`${base}/rabbitmq/user`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=alice&password=alice-secret&vhost=%2F&client_id=p1',
    });
    expect([post.status, post.headers.get('content-type'), await post.text()]).toEqual([
      200,
      'text/plain',
      'allow',
    ]);
    const get = await fetch(
      `${base}/rabbitmq/topic?username=alice&vhost=%2F&resource=topic&name=amq.topic&permission=read&tags=&routing_key=devices.bob.%23&variable_map.client_id=p1`,
    );
    expect([get.status, await get.text()]).toEqual([200, 'deny']);
  });
});

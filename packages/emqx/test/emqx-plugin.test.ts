import type { AddressInfo } from 'node:net';
import {
  type Authenticator,
  type Authorizer,
  createGuard,
  type Principal,
  type PrincipalResolver,
} from '@mqtt-warden/core';
import { type EmqxDecisionEvent, type EmqxPluginOptions, emqxPlugin } from '@mqtt-warden/emqx';
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// A small inline password store and policy: "devices/<username>/..." for each user, everything for root.
const BINARY_PASSWORD = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
const USERS: Record<
  string,
  { password: string | Buffer; superuser?: boolean; principal?: Partial<Principal> }
> = {
  alice: { password: 'alice-secret' },
  bin: { password: BINARY_PASSWORD },
  root: { password: 'root-secret', superuser: true },
  tok: {
    password: 'tok-secret',
    principal: {
      attributes: { site: 'berlin', 'cert.cn': 'dotted', 'bad key': 'x', list: ['a'] },
      expiresAt: 4_102_444_800_000,
      rules: [
        { effect: 'deny', actions: ['publish'], topics: ['cmd/${clientid}'] },
        { effect: 'deny', actions: ['receive'], topics: ['secret/#'], qos: [2] },
        { effect: 'allow', actions: ['publish', 'subscribe'], topics: ['up/${username}/+'], retain: false },
        { effect: 'allow', actions: ['publish'], topics: ['x/${unknown}'] },
      ],
    },
  },
};

function principalOf(username: string, clientId: string): Principal | undefined {
  const user = USERS[username];
  if (!user) return undefined;
  return {
    id: username,
    username,
    clientId,
    method: 'password',
    roles: [],
    attributes: {},
    superuser: user.superuser,
    ...user.principal,
  };
}

const authenticator: Authenticator = {
  name: 'inline',
  authenticate(request) {
    if (request.username === 'boom') throw new Error('store down');
    const user = request.username === undefined ? undefined : USERS[request.username];
    if (!user || !request.username) return { outcome: 'ignore' };
    if (!Buffer.from(user.password).equals(Buffer.from(request.password ?? []))) {
      return { outcome: 'deny', reason: 'bad-credentials' };
    }
    const principal = principalOf(request.username, request.clientId) as Principal;
    return {
      outcome: 'allow',
      principal: { ...principal, attributes: { ...principal.attributes, ...request.attributes } },
    };
  },
};

const authorizer: Authorizer = {
  authorize(principal, request) {
    if (request.topic === 'crash') throw new Error('policy bug');
    const own = `devices/${principal.username}/`;
    const allowed = request.topic.startsWith(own) && !(request.action === 'publish' && request.qos === 2);
    return allowed ? { allowed, reason: 'rule' } : { allowed, reason: 'default' };
  },
};

const resolver: PrincipalResolver = {
  resolve({ username, clientId }) {
    if (username === 'resolver-down') throw new Error('store down');
    return username === undefined ? undefined : principalOf(username, clientId ?? '');
  },
};

async function build(options: Partial<EmqxPluginOptions> = {}) {
  const events: EmqxDecisionEvent[] = [];
  const app = Fastify({ bodyLimit: 4096 });
  await app.register(emqxPlugin, {
    guard: createGuard({ authenticators: [authenticator], authorizer }),
    resolver,
    onDecision: (e) => events.push(e),
    ...options,
  });
  return { app, events };
}

type Via = 'get' | 'json' | 'form';
async function call(app: FastifyInstance, url: string, fields: Record<string, string>, via: Via) {
  if (via === 'get') return app.inject({ method: 'GET', url, query: fields });
  if (via === 'json') return app.inject({ method: 'POST', url, payload: fields });
  return app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(fields).toString(),
  });
}

describe('EMQX authn (reference §1.4, §9)', () => {
  let app: FastifyInstance;
  let events: EmqxDecisionEvent[];
  beforeAll(async () => ({ app, events } = await build()));

  for (const via of ['get', 'json', 'form'] as const) {
    it(`allows correct credentials via ${via} with 200 JSON result allow, is_superuser false`, async () => {
      const res = await call(
        app,
        '/emqx/authn',
        { username: 'alice', password: 'alice-secret', clientid: 'c1' },
        via,
      );
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.json()).toEqual({ result: 'allow', is_superuser: false });
    });
    it(`denies a wrong password via ${via}`, async () => {
      const res = await call(
        app,
        '/emqx/authn',
        { username: 'alice', password: 'nope', clientid: 'c1' },
        via,
      );
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ result: 'deny' });
    });
  }

  it('accepts the default template (username, password only) and reports is_superuser true', async () => {
    const res = await call(app, '/emqx/authn', { username: 'root', password: 'root-secret' }, 'json');
    expect(res.json()).toEqual({ result: 'allow', is_superuser: true });
  });

  it('returns client_attrs (valid keys, string values), expire_at in seconds and the deny rules as acl', async () => {
    const res = await call(
      app,
      '/emqx/authn',
      { username: 'tok', password: 'tok-secret', clientid: 'dev7' },
      'json',
    );
    expect(res.json()).toEqual({
      result: 'allow',
      is_superuser: false,
      client_attrs: { site: 'berlin' },
      expire_at: 4_102_444_800,
      acl: [
        { permission: 'deny', action: 'publish', topics: ['cmd/dev7'] },
        { permission: 'deny', action: 'subscribe', topics: ['secret/#'], qos: [2] },
      ],
    });
  });

  it('passes client_attrs.NAME fields from a user template through to the principal', async () => {
    const res = await call(
      app,
      '/emqx/authn',
      { username: 'alice', password: 'alice-secret', 'client_attrs.fleet': 'f9', 'client_attrs.empty': '' },
      'form',
    );
    expect(res.json()).toEqual({ result: 'allow', is_superuser: false, client_attrs: { fleet: 'f9' } });
  });

  it('denies an unknown user by default and never allows it', async () => {
    const res = await call(app, '/emqx/authn', { username: 'mallory', password: 'x' }, 'json');
    expect(res.json()).toEqual({ result: 'deny' });
    expect(events.at(-1)).toEqual({ action: 'authenticate', result: 'deny', reason: 'no-authenticator' });
  });

  it('denies when an authenticator throws (internal error) by default', async () => {
    const res = await call(app, '/emqx/authn', { username: 'boom', password: 'x' }, 'json');
    expect(res.json()).toEqual({ result: 'deny' });
  });

  it('treats an empty username (EMQX renders a missing value as "") as no username', async () => {
    const res = await call(app, '/emqx/authn', { username: '', password: '' }, 'get');
    expect(res.json()).toEqual({ result: 'deny' });
  });
});

describe('EMQX authn options', () => {
  it('answers ignore for unknown users and errors when configured', async () => {
    const { app } = await build({ unknownUser: 'ignore', onError: 'ignore' });
    expect((await call(app, '/emqx/authn', { username: 'mallory', password: 'x' }, 'json')).json()).toEqual({
      result: 'ignore',
    });
    expect((await call(app, '/emqx/authn', { username: 'boom', password: 'x' }, 'json')).json()).toEqual({
      result: 'ignore',
    });
    // A wrong password is still a deny: EMQX stops the chain.
    expect((await call(app, '/emqx/authn', { username: 'alice', password: 'x' }, 'json')).json()).toEqual({
      result: 'deny',
    });
  });

  it('acl "all" adds publish allows with rendered placeholders and drops unrenderable ones', async () => {
    const { app } = await build({ acl: 'all' });
    const res = await call(
      app,
      '/emqx/authn',
      { username: 'tok', password: 'tok-secret', clientid: 'dev7' },
      'json',
    );
    expect(res.json().acl).toEqual([
      { permission: 'deny', action: 'publish', topics: ['cmd/dev7'] },
      { permission: 'deny', action: 'subscribe', topics: ['secret/#'], qos: [2] },
      { permission: 'allow', action: 'publish', topics: ['up/tok/+'], retain: false },
    ]);
  });

  it('acl "none" omits the acl field', async () => {
    const { app } = await build({ acl: 'none' });
    const res = await call(
      app,
      '/emqx/authn',
      { username: 'tok', password: 'tok-secret', clientid: 'dev7' },
      'json',
    );
    expect(res.json().acl).toBeUndefined();
  });

  it('a deny rule whose placeholder value could widen the topic becomes a deny on #', async () => {
    const { app } = await build();
    const res = await call(
      app,
      '/emqx/authn',
      { username: 'tok', password: 'tok-secret', clientid: 'a/+' },
      'json',
    );
    expect(res.json().acl[0]).toEqual({ permission: 'deny', action: 'publish', topics: ['#'] });
  });

  it('maps a user template with other key names through `fields`', async () => {
    const { app } = await build({ fields: { user: 'username', pass: 'password', cid: 'clientid' } });
    const res = await call(app, '/emqx/authn', { user: 'alice', pass: 'alice-secret', cid: 'c' }, 'json');
    expect(res.json()).toEqual({ result: 'allow', is_superuser: false });
  });

  it('mounts at custom paths and leaves a route out with false', async () => {
    const { app } = await build({ paths: { authn: '/a', authz: false } });
    expect(
      (await call(app, '/a', { username: 'alice', password: 'alice-secret' }, 'json')).json().result,
    ).toBe('allow');
    expect(
      (await call(app, '/emqx/authz', { username: 'alice', topic: 't', action: 'publish' }, 'json'))
        .statusCode,
    ).toBe(404);
  });
});

describe('EMQX authz (reference §2.2, §2.3, §9)', () => {
  let app: FastifyInstance;
  beforeAll(async () => ({ app } = await build()));
  const authz = (fields: Record<string, string>, via: Via = 'json') => call(app, '/emqx/authz', fields, via);

  for (const via of ['get', 'json', 'form'] as const) {
    it(`allows publish and subscribe the policy allows, via ${via}`, async () => {
      const base = { username: 'alice', clientid: 'c1', peerhost: '127.0.0.1' };
      for (const action of ['publish', 'subscribe']) {
        const res = await authz(
          { ...base, action, topic: 'devices/alice/t', qos: '1', retain: 'false' },
          via,
        );
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expect(res.json()).toEqual({ result: 'allow' });
      }
    });
    it(`denies what the policy denies, via ${via}`, async () => {
      const res = await authz(
        { username: 'alice', clientid: 'c1', action: 'publish', topic: 'devices/bob/t' },
        via,
      );
      expect(res.json()).toEqual({ result: 'deny' });
    });
  }

  it('reads qos as a string ("2" reaches the policy as 2)', async () => {
    const res = await authz({ username: 'alice', action: 'publish', topic: 'devices/alice/t', qos: '2' });
    expect(res.json()).toEqual({ result: 'deny' });
  });

  it('reads the legacy access code: "1" subscribe, "2" publish', async () => {
    expect((await authz({ username: 'alice', access: '1', topic: 'devices/alice/#' })).json()).toEqual({
      result: 'allow',
    });
    expect((await authz({ username: 'alice', access: '2', topic: 'devices/bob/x' })).json()).toEqual({
      result: 'deny',
    });
  });

  it('allows a superuser anything', async () => {
    expect((await authz({ username: 'root', action: 'subscribe', topic: '#' })).json()).toEqual({
      result: 'allow',
    });
  });

  it('denies an unknown user, a missing username, a resolver failure and a policy failure', async () => {
    for (const fields of [
      { username: 'mallory', action: 'publish', topic: 'devices/mallory/t' },
      { username: '', action: 'publish', topic: 'devices//t' },
      { username: 'resolver-down', action: 'publish', topic: 'devices/resolver-down/t' },
      { username: 'alice', action: 'publish', topic: 'crash' },
    ]) {
      expect((await authz(fields)).json()).toEqual({ result: 'deny' });
    }
  });

  it('answers ignore for unknown users and errors when configured', async () => {
    const { app: lenient } = await build({ unknownUser: 'ignore', onError: 'ignore' });
    const ask = (fields: Record<string, string>) => call(lenient, '/emqx/authz', fields, 'json');
    expect((await ask({ username: 'mallory', action: 'publish', topic: 'x' })).json()).toEqual({
      result: 'ignore',
    });
    expect((await ask({ username: 'resolver-down', action: 'publish', topic: 'x' })).json()).toEqual({
      result: 'ignore',
    });
    expect((await ask({ username: 'alice', action: 'publish', topic: 'crash' })).json()).toEqual({
      result: 'ignore',
    });
    expect((await ask({ username: 'alice', action: 'publish', topic: 'devices/bob' })).json()).toEqual({
      result: 'deny',
    });
  });
});

describe('EMQX bad input: 4xx JSON error, never an allow', () => {
  let app: FastifyInstance;
  beforeAll(async () => ({ app } = await build()));

  const cases: [string, InjectOptions][] = [
    [
      'malformed JSON',
      {
        method: 'POST',
        url: '/emqx/authz',
        headers: { 'content-type': 'application/json' },
        payload: '{"username":',
      },
    ],
    ['a JSON array', { method: 'POST', url: '/emqx/authz', payload: [{ username: 'alice' }] }],
    [
      'JSON null',
      {
        method: 'POST',
        url: '/emqx/authn',
        headers: { 'content-type': 'application/json' },
        payload: 'null',
      },
    ],
    [
      'a missing topic',
      { method: 'POST', url: '/emqx/authz', payload: { username: 'alice', action: 'publish' } },
    ],
    [
      'a missing action',
      { method: 'POST', url: '/emqx/authz', payload: { username: 'alice', topic: 'devices/alice/t' } },
    ],
    [
      'action and access disagreeing',
      {
        method: 'POST',
        url: '/emqx/authz',
        payload: { username: 'alice', action: 'publish', access: '1', topic: 'devices/alice/t' },
      },
    ],
    [
      'an unknown action',
      {
        method: 'POST',
        url: '/emqx/authz',
        payload: { username: 'alice', action: 'all', topic: 'devices/alice/t' },
      },
    ],
    [
      'a username that is not UTF-8',
      { method: 'GET', url: '/emqx/authn?username=alice%FF&password=alice-secret' },
    ],
    [
      'a client attribute that is not UTF-8',
      {
        method: 'POST',
        url: '/emqx/authn',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'username=alice&password=alice-secret&client_attrs.site=%C3',
      },
    ],
    [
      'a number where EMQX sends a string',
      {
        method: 'POST',
        url: '/emqx/authz',
        payload: { username: 'alice', action: 'publish', topic: 'devices/alice/t', qos: 1 },
      },
    ],
    [
      'a boolean password',
      { method: 'POST', url: '/emqx/authn', payload: { username: 'alice', password: true } },
    ],
    [
      'qos 3',
      { method: 'GET', url: '/emqx/authz?username=alice&action=publish&topic=devices/alice/t&qos=3' },
    ],
    [
      'a repeated query key',
      { method: 'GET', url: '/emqx/authn?username=alice&username=root&password=alice-secret' },
    ],
    [
      'a bad peerhost',
      {
        method: 'POST',
        url: '/emqx/authn',
        payload: { username: 'alice', password: 'alice-secret', peerhost: 'localhost' },
      },
    ],
    [
      'a non-base64 cert_pem',
      {
        method: 'POST',
        url: '/emqx/authn',
        payload: { username: 'alice', password: 'alice-secret', cert_pem: '-----BEGIN' },
      },
    ],
    [
      'a huge body',
      { method: 'POST', url: '/emqx/authn', payload: { username: 'alice', password: 'x'.repeat(10_000) } },
    ],
    [
      'text/plain',
      {
        method: 'POST',
        url: '/emqx/authn',
        headers: { 'content-type': 'text/plain' },
        payload: 'username=alice',
      },
    ],
    [
      'an unsupported content type',
      { method: 'POST', url: '/emqx/authn', headers: { 'content-type': 'application/xml' }, payload: '<a/>' },
    ],
    ['an unknown path', { method: 'POST', url: '/emqx/other', payload: { username: 'alice' } }],
    ['PUT', { method: 'PUT', url: '/emqx/authn', payload: { username: 'alice', password: 'alice-secret' } }],
  ];
  for (const [name, request] of cases) {
    it(`rejects ${name}`, async () => {
      const res = await app.inject(request);
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(typeof res.json().message).toBe('string');
      expect(res.body).not.toContain('allow');
    });
  }

  it('says which field was wrong', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/emqx/authz',
      payload: { username: 'alice', action: 'publish' },
    });
    expect(res.json()).toEqual({ error: 'ERR_INVALID_INPUT', message: expect.stringContaining('topic') });
  });
});

describe('EMQX request values are bytes first (issue 10 item 5, issue 11 item 7)', () => {
  let app: FastifyInstance;
  let events: EmqxDecisionEvent[];
  beforeAll(async () => ({ app, events } = await build()));
  const form = (url: string, payload: string) =>
    app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload,
    });

  it('denies a topic whose percent-escapes are not UTF-8, via GET and form, instead of reading it raw', async () => {
    // Read raw, `devices/alice/%FF` would be a topic the policy allows.
    const query = 'username=alice&clientid=c1&action=publish&topic=devices%2Falice%2F%FF';
    expect((await app.inject({ method: 'GET', url: `/emqx/authz?${query}` })).json()).toEqual({
      result: 'deny',
    });
    expect((await form('/emqx/authz', query)).json()).toEqual({ result: 'deny' });
    expect(events.at(-1)).toEqual({ action: 'publish', result: 'deny', reason: 'invalid' });
    // The same topic with UTF-8 escapes is allowed: only undecodable ones are refused.
    const ok = 'username=alice&clientid=c1&action=publish&topic=devices%2Falice%2F%C3%A9';
    expect((await app.inject({ method: 'GET', url: `/emqx/authz?${ok}` })).json()).toEqual({
      result: 'allow',
    });
    expect((await form('/emqx/authz', ok)).json()).toEqual({ result: 'allow' });
  });

  it('authenticates a password of bytes FF FE 00 41 sent percent-encoded, via GET and form', async () => {
    const query = 'username=bin&clientid=c1&password=%FF%FE%00A';
    const get = await app.inject({ method: 'GET', url: `/emqx/authn?${query}` });
    expect(get.json()).toEqual({ result: 'allow', is_superuser: false });
    expect((await form('/emqx/authn', query)).json()).toEqual({ result: 'allow', is_superuser: false });
    // What a UTF-8 reading would have made of it is another password.
    const replaced = encodeURIComponent('\ufffd\ufffd\u0000A');
    expect((await form('/emqx/authn', `username=bin&password=${replaced}`)).json()).toEqual({
      result: 'deny',
    });
  });

  it('reads a renamed password key as bytes too', async () => {
    const renamed = await build({ fields: { pw: 'password', user: 'username' } });
    const res = await renamed.app.inject({ method: 'GET', url: '/emqx/authn?user=bin&pw=%FF%FE%00A' });
    expect(res.json()).toEqual({ result: 'allow', is_superuser: false });
  });
});

describe('EMQX unknown keys are ignored, known keys stay strict (issue 11 item 6)', () => {
  it('accepts template keys it does not read, in authn and authz, and logs their names at debug', async () => {
    const lines: string[] = [];
    const app = Fastify({
      logger: { level: 'debug', stream: { write: (line: string) => lines.push(line) } },
    });
    await app.register(emqxPlugin, {
      guard: createGuard({ authenticators: [authenticator], authorizer }),
      resolver,
    });
    const extra = { peerport: '52344', zone: 'default', cert_common_name: '', my_key: 'x', proto_ver: '5' };
    for (const via of ['get', 'json', 'form'] as const) {
      const authn = await call(
        app,
        '/emqx/authn',
        { username: 'alice', password: 'alice-secret', ...extra },
        via,
      );
      expect(authn.json()).toEqual({ result: 'allow', is_superuser: false });
      const fields = {
        username: 'alice',
        clientid: 'c1',
        topic: 'devices/alice/t',
        action: 'publish',
        ...extra,
      };
      expect((await call(app, '/emqx/authz', fields, via)).json()).toEqual({ result: 'allow' });
    }
    const ignored = lines
      .map((line) => JSON.parse(line))
      .filter((l) => l.msg === 'EMQX request keys ignored');
    expect(ignored.length).toBe(6);
    expect(ignored[0].keys).toEqual(['my_key', 'proto_ver']);
    expect(JSON.stringify(ignored)).not.toContain('alice-secret');
  });

  it('still refuses a known key of the wrong type even next to unknown ones', async () => {
    const { app } = await build();
    const res = await app.inject({
      method: 'POST',
      url: '/emqx/authz',
      payload: { username: 'alice', action: 'publish', topic: 'devices/alice/t', qos: 1, extra: 'x' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/qos/);
  });
});

describe('EMQX over real HTTP', () => {
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    ({ app } = await build());
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(() => app.close());

  it('answers a POST JSON authn and a GET authz as EMQX sends them', async () => {
    const authn = await fetch(`${base}/emqx/authn`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        'cache-control': 'no-cache',
      },
      body: JSON.stringify({ username: 'alice', password: 'alice-secret', clientid: 'c1', peerhost: '::1' }),
    });
    expect(authn.status).toBe(200);
    expect(await authn.json()).toEqual({ result: 'allow', is_superuser: false });
    const q = new URLSearchParams({
      username: 'alice',
      clientid: 'c1',
      topic: 'devices/alice/a b',
      action: 'publish',
      qos: '0',
      retain: 'true',
    });
    const authz = await fetch(`${base}/emqx/authz?${q}`);
    expect(await authz.json()).toEqual({ result: 'allow' });
  });

  it('answers a form POST authz with a deny', async () => {
    const res = await fetch(`${base}/emqx/authz`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=alice&clientid=c1&topic=devices%2Fbob%2Fx&action=subscribe&qos=0&retain=false',
    });
    expect(await res.json()).toEqual({ result: 'deny' });
  });
});

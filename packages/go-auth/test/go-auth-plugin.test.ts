import type { AddressInfo } from 'node:net';
import {
  type Authenticator,
  type Authorizer,
  createGuard,
  type Principal,
  type PrincipalResolver,
  UnavailableError,
} from '@mqtt-warden/core';
import {
  type GoAuthDecisionEvent,
  type GoAuthPluginOptions,
  goAuthPlugin,
  type ResponseMode,
} from '@mqtt-warden/go-auth';
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BINARY_PASSWORD = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
const PASSWORDS: Record<string, string | Buffer> = {
  alice: 'alice-secret',
  root: 'root-secret',
  bin: BINARY_PASSWORD,
};

const principal = (username: string, clientId: string): Principal => ({
  id: username,
  username,
  clientId,
  method: 'password',
  roles: [],
  attributes: {},
  superuser: username === 'root',
});

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

// receive: own devices and public; publish/subscribe: own devices only.
const authorizer: Authorizer = {
  authorize(p, { action, topic }) {
    if (topic === 'crash') throw new Error('policy bug');
    const own = topic.startsWith(`devices/${p.username}/`);
    const allowed = own || (action === 'receive' && topic.startsWith('public/'));
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

async function build(options: Partial<GoAuthPluginOptions> = {}) {
  const events: GoAuthDecisionEvent[] = [];
  const app = Fastify({ bodyLimit: 4096 });
  await app.register(goAuthPlugin, {
    guard: createGuard({ authenticators: [authenticator], authorizer }),
    resolver,
    onDecision: (e) => events.push(e),
    ...options,
  });
  return { app, events };
}

type Params = 'json' | 'form';
/** A request as go-auth builds it: JSON with sorted keys and acc a number, or a form with acc a string. */
function goAuthRequest(
  url: string,
  fields: Record<string, string | number>,
  params: Params,
  method: 'POST' | 'GET' | 'PUT' = 'POST',
) {
  const sorted = Object.fromEntries(Object.entries(fields).sort(([a], [b]) => a.localeCompare(b)));
  return params === 'json'
    ? {
        method,
        url,
        headers: { 'content-type': 'application/json', 'user-agent': 'mosquitto-2.0.0' },
        payload: JSON.stringify(sorted),
      }
    : {
        method,
        url,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'Go-http-client/1.1' },
        payload: new URLSearchParams(
          Object.entries(sorted).map(([k, v]): [string, string] => [k, String(v)]),
        ).toString(),
      };
}

/** How go-auth reads a reply (reference §1.4): grant, deny or error. */
function goAuthReads(mode: ResponseMode, status: number, body: string): 'grant' | 'deny' | 'error' {
  if (status >= 500) return 'error';
  if (status < 200 || status >= 300) return 'deny';
  if (mode === 'status') return 'grant';
  if (mode === 'text') return body === 'ok' ? 'grant' : 'deny';
  try {
    const parsed = JSON.parse(body) as { ok?: unknown };
    return parsed.ok === true ? 'grant' : 'deny';
  } catch {
    return 'error';
  }
}

for (const mode of ['status', 'text', 'json'] as const) {
  describe(`go-auth response mode ${mode} (reference §1.2-§1.5)`, () => {
    let app: FastifyInstance;
    beforeAll(async () => ({ app } = await build({ responseMode: mode })));
    const ask = async (
      url: string,
      fields: Record<string, string | number>,
      params: Params = 'json',
      method?: 'POST' | 'GET' | 'PUT',
    ) => {
      const res = await app.inject(goAuthRequest(url, fields, params, method));
      return goAuthReads(mode, res.statusCode, res.body);
    };

    for (const params of ['json', 'form'] as const) {
      for (const method of ['POST', 'GET', 'PUT'] as const) {
        it(`user check, ${params} params, ${method}: grant, deny, error`, async () => {
          const user = { username: 'alice', password: 'alice-secret', clientid: 'c1' };
          expect(await ask('/mosquitto/user', user, params, method)).toBe('grant');
          expect(await ask('/mosquitto/user', { ...user, password: 'wrong' }, params, method)).toBe('deny');
          expect(await ask('/mosquitto/user', { ...user, username: 'mallory' }, params, method)).toBe('deny');
          expect(await ask('/mosquitto/user', { ...user, username: 'down' }, params, method)).toBe('error');
        });
      }

      it(`superuser check, ${params} params`, async () => {
        expect(await ask('/mosquitto/superuser', { username: 'root' }, params)).toBe('grant');
        expect(await ask('/mosquitto/superuser', { username: 'alice' }, params)).toBe('deny');
        expect(await ask('/mosquitto/superuser', { username: 'mallory' }, params)).toBe('deny');
        expect(await ask('/mosquitto/superuser', { username: 'resolver-down' }, params)).toBe('error');
      });

      it(`acl acc 1 read → receive, 2 write → publish, 3 → both, 4 → subscribe (${params} params)`, async () => {
        const acl = (topic: string, acc: number) =>
          ask('/mosquitto/acl', { username: 'alice', clientid: 'c1', topic, acc }, params);
        expect(await acl('public/news', 1)).toBe('grant');
        expect(await acl('public/news', 2)).toBe('deny');
        expect(await acl('public/news', 3)).toBe('deny');
        expect(await acl('public/news', 4)).toBe('deny');
        expect(await acl('devices/alice/t', 1)).toBe('grant');
        expect(await acl('devices/alice/t', 2)).toBe('grant');
        expect(await acl('devices/alice/t', 3)).toBe('grant');
        expect(await acl('devices/alice/+', 4)).toBe('grant');
        expect(await acl('devices/bob/t', 2)).toBe('deny');
      });

      it(`acl: unknown user denies, resolver or policy failure is an error (${params} params)`, async () => {
        expect(
          await ask(
            '/mosquitto/acl',
            { username: 'mallory', clientid: 'c', topic: 'devices/mallory/t', acc: 2 },
            params,
          ),
        ).toBe('deny');
        expect(
          await ask('/mosquitto/acl', { username: '', clientid: 'c', topic: 'devices//t', acc: 2 }, params),
        ).toBe('deny');
        expect(
          await ask(
            '/mosquitto/acl',
            { username: 'resolver-down', clientid: 'c', topic: 't', acc: 2 },
            params,
          ),
        ).toBe('error');
        expect(
          await ask('/mosquitto/acl', { username: 'alice', clientid: 'c', topic: 'crash', acc: 2 }, params),
        ).toBe('error');
        expect(
          await ask(
            '/mosquitto/acl',
            { username: 'root', clientid: 'c', topic: 'anything/#', acc: 4 },
            params,
          ),
        ).toBe('grant');
      });
    }
  });
}

describe('go-auth exact reply bodies', () => {
  it('status mode: 200 grants, 403 denies, 500 is an error', async () => {
    const { app } = await build();
    const user = { username: 'alice', password: 'alice-secret', clientid: 'c1' };
    expect((await app.inject(goAuthRequest('/mosquitto/user', user, 'json'))).statusCode).toBe(200);
    expect(
      (await app.inject(goAuthRequest('/mosquitto/user', { ...user, password: 'x' }, 'json'))).statusCode,
    ).toBe(403);
    expect(
      (await app.inject(goAuthRequest('/mosquitto/user', { ...user, username: 'down' }, 'json'))).statusCode,
    ).toBe(500);
  });

  it('text mode: exactly "ok" (no newline) grants; a denial is a 200 with another body', async () => {
    const { app } = await build({ responseMode: 'text' });
    const user = { username: 'alice', password: 'alice-secret', clientid: 'c1' };
    const ok = await app.inject(goAuthRequest('/mosquitto/user', user, 'form'));
    expect([ok.statusCode, ok.body]).toEqual([200, 'ok']);
    const no = await app.inject(goAuthRequest('/mosquitto/user', { ...user, password: 'x' }, 'form'));
    expect([no.statusCode, no.body]).toEqual([200, 'denied']);
  });

  it('json mode: {"ok":true} / {"ok":false,"error":…}; an error is a 5xx', async () => {
    const { app, events } = await build({ responseMode: 'json' });
    const acl = { username: 'alice', clientid: 'c1', topic: 'devices/alice/t', acc: 2 };
    expect((await app.inject(goAuthRequest('/mosquitto/acl', acl, 'json'))).json()).toEqual({
      ok: true,
      error: '',
    });
    expect(
      (await app.inject(goAuthRequest('/mosquitto/acl', { ...acl, topic: 'x' }, 'json'))).json(),
    ).toEqual({ ok: false, error: 'not authorized' });
    const err = await app.inject(goAuthRequest('/mosquitto/acl', { ...acl, topic: 'crash' }, 'json'));
    expect([err.statusCode, err.json()]).toEqual([500, { ok: false, error: 'internal error' }]);
    expect(events.at(-1)).toEqual({ action: 'publish', result: 'error', reason: 'error' });
  });

  it('leaves the superuser route out when configured (go-auth without http_superuser_uri)', async () => {
    const { app } = await build({ paths: { superuser: false, acl: '/acl' } });
    expect(
      (await app.inject(goAuthRequest('/mosquitto/superuser', { username: 'root' }, 'json'))).statusCode,
    ).toBe(404);
    expect(
      (
        await app.inject(
          goAuthRequest('/acl', { username: 'root', clientid: 'c', topic: 't', acc: 1 }, 'json'),
        )
      ).statusCode,
    ).toBe(200);
  });
});

describe('go-auth bad input: 4xx JSON error (a denial in every mode), never a grant', () => {
  let app: FastifyInstance;
  beforeAll(async () => ({ app } = await build({ responseMode: 'json' })));
  const json = (url: string, payload: string, method: 'POST' | 'GET' = 'POST') => ({
    method,
    url,
    headers: { 'content-type': 'application/json' },
    payload,
  });
  const cases: [string, InjectOptions][] = [
    ['malformed JSON', json('/mosquitto/user', '{"username":"alice",')],
    ['malformed JSON in a GET body', json('/mosquitto/user', '{"username"', 'GET')],
    ['a JSON null body (jwt remote mode, not this backend)', json('/mosquitto/superuser', 'null')],
    ['a missing password', json('/mosquitto/user', '{"username":"alice","clientid":"c"}')],
    [
      'a username that is not UTF-8',
      {
        method: 'POST',
        url: '/mosquitto/acl',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'acc=1&clientid=c&topic=public%2Fx&username=alice%FF',
      },
    ],
    ['a numeric username', json('/mosquitto/superuser', '{"username":1}')],
    [
      'acc 8 (unsubscribe is never sent)',
      json('/mosquitto/acl', '{"acc":8,"clientid":"c","topic":"devices/alice/t","username":"alice"}'),
    ],
    [
      'acc 0',
      json('/mosquitto/acl', '{"acc":0,"clientid":"c","topic":"devices/alice/t","username":"alice"}'),
    ],
    [
      'acc as a non-number string',
      json('/mosquitto/acl', '{"acc":"two","clientid":"c","topic":"devices/alice/t","username":"alice"}'),
    ],
    [
      'acc 1.5',
      json('/mosquitto/acl', '{"acc":1.5,"clientid":"c","topic":"devices/alice/t","username":"alice"}'),
    ],
    ['an empty topic', json('/mosquitto/acl', '{"acc":1,"clientid":"c","topic":"","username":"alice"}')],
    [
      'a repeated form key',
      {
        method: 'POST',
        url: '/mosquitto/user',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'username=alice&username=root&password=alice-secret&clientid=c',
      },
    ],
    [
      'a repeated form key in a GET body',
      {
        method: 'GET',
        url: '/mosquitto/superuser',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'username=x&username=root',
      },
    ],
    [
      'a huge body',
      json(
        '/mosquitto/user',
        JSON.stringify({ username: 'alice', password: 'x'.repeat(10_000), clientid: 'c' }),
      ),
    ],
    [
      'a huge GET body',
      json(
        '/mosquitto/user',
        JSON.stringify({ username: 'alice', password: 'x'.repeat(10_000), clientid: 'c' }),
        'GET',
      ),
    ],
    [
      'text/plain',
      { method: 'POST', url: '/mosquitto/user', headers: { 'content-type': 'text/plain' }, payload: 'ok' },
    ],
    [
      'an unsupported content type',
      {
        method: 'POST',
        url: '/mosquitto/user',
        headers: { 'content-type': 'application/xml' },
        payload: '<a/>',
      },
    ],
    [
      'an unsupported content type in a GET body',
      {
        method: 'GET',
        url: '/mosquitto/user',
        headers: { 'content-type': 'application/xml' },
        payload: '<a/>',
      },
    ],
    ['an unknown path', json('/mosquitto/other', '{}')],
    ['DELETE', { method: 'DELETE', url: '/mosquitto/user' }],
  ];
  for (const [name, request] of cases) {
    it(`rejects ${name}`, async () => {
      const res = await app.inject(request);
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(typeof res.json().message).toBe('string');
      expect(res.json().ok).not.toBe(true);
    });
  }
});

describe('go-auth forms are bytes first (issue 10 item 5, issue 11 item 7)', () => {
  let app: FastifyInstance;
  let events: GoAuthDecisionEvent[];
  beforeAll(async () => ({ app, events } = await build({ responseMode: 'json' })));
  const form = (url: string, payload: string, method: 'POST' | 'GET' = 'POST') =>
    app.inject({ method, url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload });

  it('denies a topic whose percent-escapes are not UTF-8, in a POST and a GET form body', async () => {
    // Read raw, `devices/alice/%FF` would be a topic the policy allows.
    const body = 'acc=2&clientid=c1&topic=devices%2Falice%2F%FF&username=alice';
    for (const method of ['POST', 'GET'] as const) {
      const res = await form('/mosquitto/acl', body, method);
      expect(res.json()).toEqual({ ok: false, error: 'not authorized' });
      expect(events.at(-1)).toEqual({ action: 'publish', result: 'deny', reason: 'invalid' });
    }
    const ok = 'acc=2&clientid=c1&topic=devices%2Falice%2F%C3%A9&username=alice';
    expect((await form('/mosquitto/acl', ok)).json()).toEqual({ ok: true, error: '' });
  });

  it('authenticates a password of bytes FF FE 00 41 sent percent-encoded in a form', async () => {
    for (const method of ['POST', 'GET'] as const) {
      const res = await form('/mosquitto/user', 'clientid=c1&password=%FF%FE%00A&username=bin', method);
      expect(res.json()).toEqual({ ok: true, error: '' });
    }
    const replaced = encodeURIComponent('\ufffd\ufffd\u0000A');
    const res = await form('/mosquitto/user', `clientid=c1&password=${replaced}&username=bin`);
    expect(res.json()).toEqual({ ok: false, error: 'not authorized' });
  });
});

describe('go-auth unknown keys are ignored, known keys stay strict (issue 11 item 6)', () => {
  it('accepts keys it does not read in every route, JSON and form, and logs their names at debug', async () => {
    const lines: string[] = [];
    const app = Fastify({
      logger: { level: 'debug', stream: { write: (line: string) => lines.push(line) } },
    });
    await app.register(goAuthPlugin, {
      guard: createGuard({ authenticators: [authenticator], authorizer }),
      resolver,
      responseMode: 'json',
    });
    const extra = { extra: 'x', zone: 'default' };
    for (const params of ['json', 'form'] as const) {
      const ask = async (url: string, fields: Record<string, string | number>) =>
        (await app.inject(goAuthRequest(url, { ...fields, ...extra }, params) as InjectOptions)).json();
      expect(
        await ask('/mosquitto/user', { username: 'alice', password: 'alice-secret', clientid: 'c1' }),
      ).toEqual({ ok: true, error: '' });
      expect(await ask('/mosquitto/superuser', { username: 'root' })).toEqual({ ok: true, error: '' });
      expect(
        await ask('/mosquitto/acl', { username: 'alice', clientid: 'c1', topic: 'devices/alice/t', acc: 2 }),
      ).toEqual({ ok: true, error: '' });
    }
    const ignored = lines
      .map((line) => JSON.parse(line))
      .filter((l) => l.msg === 'go-auth request keys ignored');
    expect(ignored.length).toBe(6);
    expect(ignored[0].keys).toEqual(['extra', 'zone']);
  });

  it('still refuses a known key of the wrong type next to unknown ones', async () => {
    const { app } = await build({ responseMode: 'json' });
    const res = await app.inject({
      method: 'POST',
      url: '/mosquitto/acl',
      payload: { username: 'alice', clientid: 'c1', topic: 'devices/alice/t', acc: 'two', extra: 'x' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/acc/);
  });
});

describe('go-auth over real HTTP', () => {
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    ({ app } = await build({ responseMode: 'text' }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(() => app.close());

  it('answers a JSON POST user check and a form ACL check', async () => {
    const user = await fetch(`${base}/mosquitto/user`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'mosquitto-2.0.0' },
      body: '{"clientid":"c1","password":"alice-secret","username":"alice"}',
    });
    expect([user.status, await user.text()]).toEqual([200, 'ok']);
    const acl = await fetch(`${base}/mosquitto/acl`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'acc=4&clientid=c1&topic=devices%2Fbob%2F%23&username=alice',
    });
    expect([acl.status, await acl.text()]).toEqual([200, 'denied']);
  });

  it('reads the JSON body of a GET request (http_method GET)', async () => {
    const { request } = await import('node:http');
    const body = '{"acc":1,"clientid":"c1","topic":"public/x","username":"alice"}';
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(
        `${base}/mosquitto/acl`,
        {
          method: 'GET',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          let data = '';
          res.on('data', (c) => (data += c));
          res.on('end', () => resolve(`${res.statusCode} ${data}`));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(text).toBe('200 ok');
  });
});

import { tracingChannel } from 'node:diagnostics_channel';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWardenServer, parseServerConfig, type WardenServer } from '../src/index.js';
import { BODIES } from './malformed-bodies.js';
import { type Answer, type Send, type Sendable, viaHttp } from './transports.js';

// The lean path (src/lean-router.ts) answers the broker hot paths without Fastify. These tests make sure
// it really does (a Fastify handler run is counted), that it answers byte for byte what Fastify answers,
// that what it must not take still reaches Fastify, and that metrics and log lines are still written.

const QUICKSTART = fileURLToPath(new URL('../../../examples/quickstart/', import.meta.url));
const JSON_TYPE = { 'content-type': 'application/json' };
const FORM_TYPE = { 'content-type': 'application/x-www-form-urlencoded' };

/** Requests Fastify ran a route handler for (its diagnostics channel), by path. */
const handled: string[] = [];
tracingChannel<unknown, { request?: { url?: string } }>('fastify.request.handler').subscribe({
  start: (store) => void handled.push(store.request?.url ?? '?'),
  end: () => {},
  asyncStart: () => {},
  asyncEnd: () => {},
  error: () => {},
});

async function start(
  extra = '',
  logs?: { text: string },
  listen = '',
  log = logs ? '{ level: debug, requests: true }' : '{ level: silent }',
): Promise<{ server: WardenServer; http: Send }> {
  const stream = new PassThrough();
  if (logs) stream.on('data', (chunk) => (logs.text += chunk));
  const server = await createWardenServer(
    parseServerConfig(
      `listen: { host: 127.0.0.1, port: 0${listen} }\nlog: ${log}\npolicy: { file: policy.yaml }\nauthenticators: [{ type: password, file: users.yaml }]\n${extra}`,
      { baseDir: QUICKSTART },
    ),
    { logStream: stream },
  );
  return { server, http: viaHttp(await server.listen()) };
}

const AUTHZ = { username: 'demo', clientid: 'demo', topic: 'devices/demo/t', action: 'publish' };
const ACL = { username: 'demo', clientid: 'demo', topic: 'devices/demo/t', acc: 2 };
const AUTHZ_FORM = 'username=demo&clientid=demo&topic=devices%2Fdemo%2Ft&action=publish';
const ACL_FORM = 'acc=2&clientid=demo&topic=devices%2Fdemo%2Ft&username=demo';
const LOGIN_FORM = 'username=demo&password=demo-password&clientid=demo';
const TOPIC =
  'username=demo&vhost=%2F&resource=topic&name=amq.topic&permission=write&routing_key=devices.demo.t&variable_map.client_id=demo';

/** One of each hot endpoint, as the brokers send them. */
const HOT: Sendable[] = [
  { method: 'POST', url: '/emqx/authz', headers: JSON_TYPE, payload: JSON.stringify(AUTHZ) },
  { method: 'POST', url: '/mosquitto/acl', headers: JSON_TYPE, payload: JSON.stringify(ACL) },
  { method: 'POST', url: '/rabbitmq/topic', headers: FORM_TYPE, payload: TOPIC },
  {
    method: 'POST',
    url: '/emqx/authn',
    headers: JSON_TYPE,
    payload: '{"username":"demo","password":"demo-password","clientid":"demo"}',
  },
  {
    method: 'POST',
    url: '/mosquitto/user',
    headers: JSON_TYPE,
    payload: '{"username":"demo","password":"demo-password","clientid":"demo"}',
  },
  { method: 'POST', url: '/mosquitto/superuser', headers: JSON_TYPE, payload: '{"username":"admin"}' },
  {
    method: 'POST',
    url: '/rabbitmq/user',
    headers: FORM_TYPE,
    payload: 'username=demo&password=demo-password&vhost=%2F&client_id=demo',
  },
  {
    method: 'POST',
    url: '/rabbitmq/vhost',
    headers: FORM_TYPE,
    payload: 'username=demo&vhost=%2F&ip=127.0.0.1',
  },
  {
    method: 'POST',
    url: '/rabbitmq/resource',
    headers: FORM_TYPE,
    payload: 'username=demo&vhost=%2F&resource=exchange&name=amq.topic&permission=write',
  },
  // EMQX with a form content type in its headers; go-auth's http_params_mode form.
  { method: 'POST', url: '/emqx/authz', headers: FORM_TYPE, payload: AUTHZ_FORM },
  { method: 'POST', url: '/emqx/authn', headers: FORM_TYPE, payload: LOGIN_FORM },
  { method: 'POST', url: '/mosquitto/acl', headers: FORM_TYPE, payload: ACL_FORM },
  { method: 'POST', url: '/mosquitto/user', headers: FORM_TYPE, payload: LOGIN_FORM },
  { method: 'POST', url: '/mosquitto/superuser', headers: FORM_TYPE, payload: 'username=admin' },
];

/** Valid and invalid requests to every hot endpoint, in the content type the lean path takes. */
function corpus(): Sendable[] {
  const out: Sendable[] = [...HOT];
  const json = ['/emqx/authz', '/emqx/authn', '/mosquitto/acl', '/mosquitto/user', '/mosquitto/superuser'];
  const nasty = [
    ...BODIES.map(([, body]) => body),
    '',
    '{"__proto__":{"x":1},"username":"demo"}',
    '{"constructor":{"prototype":{"x":1}}}',
    '\ufeff{"username":"demo","clientid":"demo","topic":"devices/demo/t","action":"publish","acc":2}',
    JSON.stringify({ ...AUTHZ, topic: 'devices/sensor-1/t' }),
    JSON.stringify({ ...AUTHZ, action: 'subscribe', topic: 'devices/demo/#', extra: [1, { a: 2 }] }),
    JSON.stringify({ ...AUTHZ, action: 'publish', access: '1' }),
    JSON.stringify({ ...AUTHZ, qos: 1 }),
    JSON.stringify({ ...AUTHZ, peerhost: '999.0.0.1' }),
    JSON.stringify({ ...AUTHZ, 'client_attrs.t': 5 }),
    JSON.stringify({ ...ACL, acc: '2' }),
    JSON.stringify({ ...ACL, acc: 2.5 }),
    JSON.stringify({ ...ACL, acc: 4, topic: 'devices/demo/#' }),
    JSON.stringify({ ...ACL, username: '' }),
    JSON.stringify({ ...ACL, username: 'nobody' }),
    JSON.stringify({ ...ACL, topic: 'x'.repeat(65_536) }),
    '{"username":"d\\u0000","clientid":"c","topic":"t","acc":2,"password":"\\udc00"}',
  ];
  for (const url of json) {
    for (const payload of nasty) out.push({ method: 'POST', url, headers: JSON_TYPE, payload });
    out.push({
      method: 'POST',
      url,
      headers: JSON_TYPE,
      payload: Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]),
    });
  }
  const forms = [
    TOPIC,
    TOPIC.replace('devices.demo.t', 'devices.sensor-1.t'),
    TOPIC.replace('devices.demo.t', 'cmd.%FF'),
    TOPIC.replace('amq.topic', 'other'),
    `${TOPIC}&extra=1`,
    `${TOPIC}&username=admin`,
    TOPIC.replace('username=demo', 'username=%FF'),
    TOPIC.replace('routing_key=devices.demo.t', 'routing_key='),
    '__proto__=x&username=demo',
    '',
    'not a form',
    `username=demo&password=demo-password&vhost=${'x'.repeat(70_000)}`,
  ];
  for (const url of ['/rabbitmq/topic', '/rabbitmq/user', '/rabbitmq/vhost', '/rabbitmq/resource']) {
    for (const payload of forms) out.push({ method: 'POST', url, headers: FORM_TYPE, payload });
  }
  // EMQX and go-auth forms: plain ones (read in one pass) and every kind the general parser must read.
  const brokerForms = [
    AUTHZ_FORM,
    ACL_FORM,
    LOGIN_FORM,
    'username=admin',
    `${AUTHZ_FORM}&qos=1&retain=true&peerhost=127.0.0.1&peerport=1883`,
    `${AUTHZ_FORM}&access=1`,
    `${AUTHZ_FORM.replace('publish', 'subscribe').replace('%2Ft', '%2F%23')}&qos=`,
    AUTHZ_FORM.replace('demo%2Ft', 'sensor-1%2Ft'),
    AUTHZ_FORM.replace('action=publish', 'access=2'),
    `${AUTHZ_FORM}&qos=3`,
    `${AUTHZ_FORM}&peerhost=999.0.0.1`,
    `${AUTHZ_FORM}&client_attrs.t=x`,
    `${AUTHZ_FORM}&extra=1`,
    ACL_FORM.replace('acc=2', 'acc=4').replace('%2Ft', '%2F%23'),
    ACL_FORM.replace('acc=2', 'acc=02'),
    ACL_FORM.replace('acc=2', 'acc=2.0'),
    ACL_FORM.replace('acc=2', 'acc=5'),
    ACL_FORM.replace('acc=2', 'acc=1&acc=2'),
    ACL_FORM.replace('username=demo', 'username='),
    ACL_FORM.replace('username=demo', 'username=nobody'),
    ACL_FORM.replace('username=demo', 'username=d%C3%A9mo'),
    ACL_FORM.replace('username=demo', 'username=%FF'),
    ACL_FORM.replace('username=demo', 'username=d%00'),
    ACL_FORM.replace('%2Ft', '%2F%FF'),
    ACL_FORM.replace('%2Ft', '%2Ft%C3%A9'),
    ACL_FORM.replace('%2Ft', '+%2B%'),
    ACL_FORM.replace('topic=devices%2Fdemo%2Ft', 'topic='),
    `${ACL_FORM}&username=admin`,
    `user%6Eame=demo&${ACL_FORM.replace('&username=demo', '')}`,
    LOGIN_FORM.replace('demo-password', 'wrong'),
    LOGIN_FORM.replace('demo-password', 'demo%2Dpassword'),
    LOGIN_FORM.replace('demo-password', '%FF%FE%00'),
    LOGIN_FORM.replace('demo-password', 'demo+password%2B'),
    LOGIN_FORM.replace('&clientid=demo', ''),
    `${LOGIN_FORM}&cert_pem=QUJD&zone=default`,
    `${LOGIN_FORM}&cert_pem=%21`,
    `username=demo&password=demo-password&clientid=${'x'.repeat(70_000)}`,
    '__proto__=x&username=demo',
    'username&&clientid=demo&topic=t&action=publish&acc=2',
    '',
    'not a form',
    '=',
  ];
  for (const url of json) {
    for (const payload of brokerForms) out.push({ method: 'POST', url, headers: FORM_TYPE, payload });
    out.push({ method: 'POST', url, headers: FORM_TYPE, payload: Buffer.from([0x75, 0x3d, 0xff]) });
  }
  return out;
}

/** POSTs JSON in chunks (no content length), as a broker streaming its body would. */
async function chunked(
  server: WardenServer,
  path: string,
  parts: string[],
): Promise<{ status: number; body: string; close: boolean }> {
  const address = server.app.server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: address.port,
        path,
        method: 'POST',
        headers: { ...JSON_TYPE, 'transfer-encoding': 'chunked' },
      },
      (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body, close: res.headers.connection === 'close' }),
        );
      },
    );
    req.on('error', reject);
    for (const part of parts) req.write(part);
    req.end();
  });
}

/** What a broker reads of an answer: status, content type, body bytes, and whether the connection stays. */
function seen(answer: Answer) {
  return {
    status: answer.statusCode,
    type: answer.headers['content-type'],
    body: answer.rawPayload.toString('hex'),
    close: answer.headers.connection === 'close',
  };
}

describe('the lean path', () => {
  let server: WardenServer;
  let http: Send;
  beforeAll(async () => {
    ({ server, http } = await start('metrics: { bearerToken: scrape-token }\n'));
  });
  afterAll(() => server?.close());

  it('answers every hot endpoint without running a Fastify handler; other requests still reach Fastify', async () => {
    handled.length = 0;
    for (const request of HOT) {
      const answer = await http(request);
      expect(answer.statusCode, request.url).toBe(200);
    }
    expect(handled).toEqual([]);
    // The probe sees Fastify at work: GETs, other content types and other routes go there.
    await http({ url: `/emqx/authz?${new URLSearchParams(AUTHZ)}` });
    await http({ ...HOT[0], headers: { 'content-type': 'application/json; charset=utf-8' } } as Sendable);
    await http({ ...HOT[2], headers: JSON_TYPE, payload: '{}' } as Sendable);
    await http({ url: '/healthz' });
    expect(handled).toEqual([
      '/emqx/authz?' + new URLSearchParams(AUTHZ),
      '/emqx/authz',
      '/rabbitmq/topic',
      '/healthz',
    ]);
  });

  it('answers exactly what Fastify answers (status, content type, body bytes, connection) for valid and invalid requests', async () => {
    const requests = corpus();
    expect(requests.length).toBeGreaterThan(150);
    handled.length = 0;
    let decided = 0;
    for (const request of requests) {
      const lean = seen(await http(request));
      const fastify = seen((await server.app.inject(request)) as unknown as Answer);
      expect(lean, `${request.url} ${String(request.payload).slice(0, 120)}`).toEqual(fastify);
      if (lean.status === 200) decided++;
    }
    // Only inject ran Fastify handlers (inject skips the listener); allows and denies were both compared.
    expect(handled.length).toBeLessThanOrEqual(requests.length);
    expect(decided).toBeGreaterThan(20);
  });

  it('still records the latency histogram and the decision counters', async () => {
    const metrics = async () =>
      (await http({ url: '/metrics', headers: { authorization: 'Bearer scrape-token' } })).body;
    const count = (text: string, pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0);
    const latency =
      /mqtt_warden_request_duration_seconds_count\{adapter="go-auth",route="\/mosquitto\/acl"\} (\d+)/;
    const grants = /mqtt_warden_decisions_total\{adapter="go-auth",action="publish",result="grant"\} (\d+)/;
    const topics =
      /mqtt_warden_request_duration_seconds_count\{adapter="rabbitmq",route="\/rabbitmq\/topic"\} (\d+)/;
    const before = await metrics();
    handled.length = 0;
    for (let i = 0; i < 3; i++) {
      await http(HOT[1] as Sendable);
      await http(HOT[2] as Sendable);
    }
    expect(handled).toEqual([]);
    const after = await metrics();
    expect(count(after, latency) - count(before, latency)).toBe(3);
    expect(count(after, grants) - count(before, grants)).toBe(3);
    expect(count(after, topics) - count(before, topics)).toBe(3);
  });
});

describe('the lean path respects the configuration', () => {
  it('leaves disabled adapters and unconfigured paths to Fastify (404), and serves configured paths', async () => {
    const { server, http } = await start(
      'adapters: { emqx: { enabled: false }, goAuth: { paths: { acl: /go/acl, user: false } } }\n',
    );
    try {
      handled.length = 0;
      expect((await http(HOT[0] as Sendable)).statusCode).toBe(404);
      expect((await http(HOT[1] as Sendable)).statusCode).toBe(404);
      expect((await http(HOT[4] as Sendable)).statusCode).toBe(404);
      expect(handled).toEqual([]); // 404s are Fastify's not-found handler, not a route handler
      const moved = await http({ ...HOT[1], url: '/go/acl' } as Sendable);
      expect(moved.statusCode).toBe(200);
      expect(handled).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('hands refusals to Fastify: shared secret, source allowlist and body limit answer as before', async () => {
    const logs = { text: '' };
    const { server, http } = await start(
      'limits: { bodyBytes: 1024, requestTimeoutMs: 10000, keepAliveTimeoutMs: 65000 }\nadapters: { emqx: { sharedSecret: { value: emqx-shared-value } } }\n',
      logs,
    );
    try {
      handled.length = 0;
      const secret = { 'x-mqtt-warden-secret': 'emqx-shared-value' };
      const authz = HOT[0] as Sendable;
      expect((await http({ ...authz, headers: { ...JSON_TYPE, ...secret } })).json()).toEqual({
        result: 'allow',
      });
      expect(handled).toEqual([]);
      const wrong = await http({ ...authz, headers: { ...JSON_TYPE, 'x-mqtt-warden-secret': 'guess' } });
      expect(wrong.statusCode).toBe(401);
      expect(wrong.json()).toEqual({
        error: 'ERR_UNAUTHORIZED',
        message: 'missing or wrong shared secret header',
      });
      expect(logs.text).toContain('refused: missing or wrong shared secret');
      expect(logs.text).not.toContain('guess');
      // Over the limit: Fastify's 413, before the body is read.
      const big = JSON.stringify({ ...ACL, pad: 'x'.repeat(2000) });
      const over = await http({ ...(HOT[1] as Sendable), payload: big });
      expect(seen(over)).toEqual(
        seen((await server.app.inject({ ...(HOT[1] as Sendable), payload: big })) as unknown as Answer),
      );
      expect(over.statusCode).toBe(413);
      // Chunks are counted as they come: within the limit answered here, past it Fastify's 413.
      handled.length = 0;
      const within = await chunked(server, '/mosquitto/acl', [JSON.stringify(ACL)]);
      expect(within).toMatchObject({ status: 200, body: '' });
      const past = await chunked(server, '/mosquitto/acl', [
        '{"pad":"',
        'x'.repeat(800),
        'x'.repeat(800),
        '"}',
      ]);
      expect(past).toEqual({
        status: 413,
        close: true,
        body: '{"error":"FST_ERR_CTP_BODY_TOO_LARGE","message":"Request body is too large"}',
      });
      expect(handled).toEqual([]);
    } finally {
      await server.close();
    }
    const allow = await start('', undefined, ', allow: [10.0.0.0/8]');
    try {
      const refused = await allow.http(HOT[1] as Sendable);
      expect(refused.statusCode).toBe(403);
      expect(refused.json()).toMatchObject({ error: 'ERR_FORBIDDEN' });
    } finally {
      await allow.server.close();
    }
  });

  it('writes the request log lines Fastify writes, with a request id, and no body', async () => {
    const logs = { text: '' };
    const { server, http } = await start('', logs);
    try {
      await http(HOT[3] as Sendable);
      await new Promise((r) => setTimeout(r, 50));
      const lines = logs.text
        .trim()
        .split('\n')
        .map(
          (line) =>
            JSON.parse(line) as {
              msg: string;
              reqId?: string;
              req?: { url: string };
              res?: { statusCode: number };
            },
        );
      const incoming = lines.find(
        (line) => line.msg === 'incoming request' && line.req?.url === '/emqx/authn',
      );
      const completed = lines.find(
        (line) => line.msg === 'request completed' && line.reqId === incoming?.reqId,
      );
      expect(incoming?.reqId).toEqual(expect.any(String));
      expect(completed?.res).toEqual({ statusCode: 200 });
      expect(logs.text).not.toContain('demo-password');
    } finally {
      await server.close();
    }
  });

  it('writes no request lines by default (log.requests), on either path, but still logs refusals', async () => {
    const logs = { text: '' };
    const { server, http } = await start(
      'adapters: { emqx: { sharedSecret: { value: emqx-shared-value } } }\n',
      logs,
      '',
      '{ level: info }',
    );
    try {
      const secret = { 'x-mqtt-warden-secret': 'emqx-shared-value' };
      const authz = HOT[0] as Sendable;
      expect((await http({ ...authz, headers: { ...JSON_TYPE, ...secret } })).statusCode).toBe(200);
      expect((await http({ ...(HOT[1] as Sendable) })).statusCode).toBe(200);
      expect((await http({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      const wrong = await http({ ...authz, headers: { ...JSON_TYPE, 'x-mqtt-warden-secret': 'guess' } });
      expect(wrong.statusCode).toBe(401);
      await new Promise((r) => setTimeout(r, 50));
      expect(logs.text).toContain('refused: missing or wrong shared secret');
      expect(logs.text).not.toContain('incoming request');
      expect(logs.text).not.toContain('request completed');
    } finally {
      await server.close();
    }
  });
});

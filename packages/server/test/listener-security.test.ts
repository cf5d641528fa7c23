import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createWardenServer, parseServerConfig, type WardenServer } from '@mqtt-warden/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretMatcher } from '../src/secret-matcher.js';
import { sourceAllowlist } from '../src/source-allowlist.js';
import { makePki } from './pki.js';
import { type Send, sender, TRANSPORTS, viaHttp } from './transports.js';

// Issue 11 item 3: the listener authenticates its caller (the broker) — mutual TLS, a source allowlist,
// a shared-secret header — and /metrics is served only where the user chose.

const QUICKSTART = fileURLToPath(new URL('../../../examples/quickstart/', import.meta.url));
const LOGIN = { username: 'demo', password: 'demo-password', clientid: 'demo' };

function workdir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'warden-listener-'));
  for (const f of ['policy.yaml', 'users.yaml']) copyFileSync(join(QUICKSTART, f), join(dir, f));
  return dir;
}

async function start(dir: string, extra: string, logs?: { text: string }): Promise<WardenServer> {
  const stream = new PassThrough();
  if (logs) stream.on('data', (chunk) => (logs.text += chunk));
  const file = join(dir, 'warden.yaml');
  writeFileSync(
    file,
    `log: { level: ${logs ? 'trace' : 'silent'} }\npolicy: { file: policy.yaml }\nauthenticators: [{ type: password, file: users.yaml }]\n${extra}`,
  );
  return createWardenServer(parseServerConfig(readFileSync(file, 'utf8'), { file }), { logStream: stream });
}

function configError(text: string): string {
  try {
    parseServerConfig(`policy: { file: p }\nauthenticators: [{ type: password, file: u }]\n${text}`, {
      file: 'warden.yaml',
    });
  } catch (error) {
    expect((error as { code?: string }).code).toBe('ERR_CONFIG_INVALID');
    return (error as Error).message;
  }
  throw new Error('the config was accepted');
}

describe('mutual TLS: listen.tls.ca makes the broker present a certificate from that CA', () => {
  let dir: string;
  let server: WardenServer;
  let url: string;
  beforeAll(async () => {
    dir = workdir();
    makePki(dir); // ca.pem issues dev-x; other-ca.pem issues stranger
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'],
        ...['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
        ...['-keyout', join(dir, 'server.key'), '-out', join(dir, 'server.pem')],
      ],
      { stdio: 'ignore' },
    );
    server = await start(
      dir,
      'listen: { host: 127.0.0.1, port: 0, tls: { cert: server.pem, key: server.key, ca: ca.pem } }\n',
    );
    url = await server.listen();
  });
  afterAll(() => server?.close());

  /**
   * POST /emqx/authn over HTTPS, trusting the server's certificate, with the client certificate `name`;
   * with a content length, as EMQX sends it, so the lean path answers.
   */
  function authn(name?: string): Promise<{ status: number; body: string }> {
    const client = name
      ? { cert: readFileSync(join(dir, `${name}.pem`)), key: readFileSync(join(dir, `${name}.key`)) }
      : {};
    return new Promise((resolve, reject) => {
      const req = request(
        `${url}/emqx/authn`,
        {
          method: 'POST',
          ca: readFileSync(join(dir, 'server.pem')),
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(JSON.stringify(LOGIN)),
          },
          ...client,
        },
        (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(LOGIN));
    });
  }

  it('answers a broker presenting a certificate issued by the CA', async () => {
    const answer = await authn('dev-x');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ result: 'allow', is_superuser: false });
  });

  it('refuses the TLS session without a client certificate: no answer at all', async () => {
    await expect(authn()).rejects.toThrow(/certificate|socket hang up|ECONNRESET|EPIPE/i);
  });

  it('refuses a certificate from another CA', async () => {
    await expect(authn('stranger')).rejects.toThrow(
      /certificate|unknown ca|socket hang up|ECONNRESET|EPIPE/i,
    );
  });
});

describe('listen.allow: source addresses', () => {
  it('matches addresses and CIDR ranges, IPv4-mapped IPv6 included', () => {
    const allowed = sourceAllowlist(['10.0.0.0/8', '192.0.2.7', 'fd00::/8']);
    expect(allowed('10.255.0.1')).toBe(true);
    expect(allowed('::ffff:10.1.2.3')).toBe(true);
    expect(allowed('192.0.2.7')).toBe(true);
    expect(allowed('192.0.2.8')).toBe(false);
    expect(allowed('fd12::1')).toBe(true);
    expect(allowed('fe80::1')).toBe(false);
    expect(allowed('11.0.0.1')).toBe(false);
    expect(allowed(undefined)).toBe(false);
    expect(allowed('not-an-ip')).toBe(false);
  });

  it('refuses other sources with a 403 before reading the body or authenticating', async () => {
    const server = await start(workdir(), 'listen: { allow: [10.0.0.0/8] }\nmetrics: { bearerToken: t }\n');
    try {
      const post = (remoteAddress: string, payload: string) =>
        server.app.inject({
          method: 'POST',
          url: '/emqx/authn',
          remoteAddress,
          headers: { 'content-type': 'application/json' },
          payload,
        });
      expect((await post('10.1.2.3', JSON.stringify(LOGIN))).json()).toMatchObject({
        result: 'allow',
        is_superuser: false,
      });
      const outside = await post('192.0.2.1', JSON.stringify(LOGIN));
      expect(outside.statusCode).toBe(403);
      expect(outside.json()).toMatchObject({ error: 'ERR_FORBIDDEN' });
      // An unparsable body is not even read: 403, not 400.
      expect((await post('192.0.2.1', '{not json')).statusCode).toBe(403);
      // Health and every other route are refused too.
      expect((await server.app.inject({ url: '/healthz', remoteAddress: '192.0.2.1' })).statusCode).toBe(403);
      // Only the allowed request was authenticated.
      const metrics = await server.app.inject({
        url: '/metrics',
        remoteAddress: '10.1.2.3',
        headers: { authorization: 'Bearer t' },
      });
      expect(metrics.body).toMatch(
        /mqtt_warden_decisions_total\{adapter="emqx",action="authenticate",result="allow"\} 1\n/,
      );
      expect(metrics.body).not.toMatch(/adapter="emqx",action="authenticate",result="deny"/);
    } finally {
      await server.close();
    }
  });

  it('applies to real connections: 127.0.0.1 refused unless listed', async () => {
    for (const [allow, status] of [
      ['[10.0.0.0/8]', 403],
      ['[10.0.0.0/8, 127.0.0.1]', 200],
    ] as const) {
      const server = await start(workdir(), `listen: { host: 127.0.0.1, port: 0, allow: ${allow} }\n`);
      try {
        const base = await server.listen();
        expect((await fetch(`${base}/healthz`)).status, allow).toBe(status);
        // The broker endpoints too, which the lean path answers when the source is allowed.
        const login = await viaHttp(base)({ method: 'POST', url: '/emqx/authn', payload: LOGIN });
        expect(login.statusCode, allow).toBe(status);
        if (status === 403) expect(login.json()).toMatchObject({ error: 'ERR_FORBIDDEN' });
      } finally {
        await server.close();
      }
    }
  });

  it('warns when the listener is bound beyond loopback with neither client certificates nor an allowlist', async () => {
    for (const [listen, warned] of [
      ['{ host: 0.0.0.0 }', true],
      ['{ host: "::" }', true],
      ['{ host: 0.0.0.0, allow: [10.0.0.0/8] }', false],
      ['{ host: 127.0.0.1 }', false],
    ] as const) {
      const logs = { text: '' };
      const server = await start(workdir(), `listen: ${listen}\n`, logs);
      await server.close();
      expect(logs.text.includes('without listen.tls.ca or listen.allow'), listen).toBe(warned);
    }
  });

  it('refuses entries that are not addresses or ranges, with their location', () => {
    expect(configError('listen: { allow: [10.0.0.0/33] }\n')).toMatch(/warden\.yaml:3:\d+.*CIDR range/s);
    expect(configError('listen: { allow: [example.com] }\n')).toMatch(/IP address or a CIDR range/);
    expect(configError('listen: { allow: [] }\n')).toMatch(/at least one address/);
  });
});

// Over inject (Fastify alone) and over a real connection (the lean path first): the same answers.
describe.each(TRANSPORTS)('adapters.*.sharedSecret: a header the broker sends, over %s', (transport) => {
  let server: WardenServer;
  let send: Send;
  const logs = { text: '' };
  beforeAll(async () => {
    const dir = workdir();
    writeFileSync(join(dir, 'goauth.secret'), 'go-auth-shared-value\n');
    server = await start(
      dir,
      `adapters:
  emqx: { sharedSecret: { value: emqx-shared-value } }
  goAuth: { responseMode: json, sharedSecret: { header: X-Warden-Token, value: { file: goauth.secret } } }
  rabbitmq: {}
`,
      logs,
    );
    send = await sender(server, transport);
  });
  afterAll(() => server.close());

  const emqx = (headers: Record<string, string | string[]>) =>
    send({ method: 'POST', url: '/emqx/authn', headers, payload: LOGIN });

  it('answers EMQX only with the right x-mqtt-warden-secret header', async () => {
    expect((await emqx({ 'x-mqtt-warden-secret': 'emqx-shared-value' })).json()).toMatchObject({
      result: 'allow',
      is_superuser: false,
    });
    const attempts: Record<string, string | string[]>[] = [
      {},
      { 'x-mqtt-warden-secret': 'emqx-shared-valuE' },
      { 'x-mqtt-warden-secret': 'emqx-shared-value-and-more' },
      { 'x-mqtt-warden-secret': '' },
      { 'x-mqtt-warden-secret': ['emqx-shared-value', 'emqx-shared-value'] },
      { 'x-mqtt-warden-secret': 'go-auth-shared-value' },
    ];
    for (const headers of attempts) {
      const res = await emqx(headers);
      expect(res.statusCode, JSON.stringify(headers)).toBe(401);
      expect(res.json()).toEqual({
        error: 'ERR_UNAUTHORIZED',
        message: 'missing or wrong shared secret header',
      });
    }
  });

  it('takes each adapter’s own header and secret (read from a file, trailing newline dropped)', async () => {
    const acl = (headers: Record<string, string>) =>
      send({
        method: 'POST',
        url: '/mosquitto/user',
        headers,
        payload: LOGIN,
      });
    expect((await acl({ 'x-warden-token': 'go-auth-shared-value' })).json()).toEqual({ ok: true, error: '' });
    expect((await acl({ 'x-warden-token': 'emqx-shared-value' })).statusCode).toBe(401);
    expect((await acl({ 'x-mqtt-warden-secret': 'go-auth-shared-value' })).statusCode).toBe(401);
  });

  it('leaves routes of adapters without a secret, health and 404s alone', async () => {
    const rabbit = await send({
      method: 'POST',
      url: '/rabbitmq/user',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'username=demo&password=demo-password&vhost=%2F&client_id=demo',
    });
    expect(rabbit.body).toBe('allow');
    expect((await send({ url: '/healthz' })).statusCode).toBe(200);
    expect((await send({ url: '/nope' })).statusCode).toBe(404);
  });

  it('never logs a presented or the expected secret', async () => {
    await emqx({ 'x-mqtt-warden-secret': 'emqx-shared-value' });
    await emqx({ 'x-mqtt-warden-secret': 'a-wrong-guess-value' });
    await new Promise((r) => setTimeout(r, 50));
    expect(logs.text).toContain('shared secret');
    for (const secret of ['emqx-shared-value', 'go-auth-shared-value', 'a-wrong-guess-value']) {
      expect(logs.text).not.toContain(secret);
    }
  });

  it('compares whole values: length, case and repetition all matter', () => {
    const matches = secretMatcher('s3cret');
    expect(matches('s3cret')).toBe(true);
    for (const wrong of ['s3cre', 's3cret ', 'S3cret', '', undefined, ['s3cret']])
      expect(matches(wrong)).toBe(false);
  });

  it('refuses a header name that cannot carry it', () => {
    expect(configError('adapters: { emqx: { sharedSecret: { header: content-type, value: x } } }\n')).toMatch(
      /header of your own/,
    );
    expect(configError('adapters: { emqx: { sharedSecret: { header: "x secret", value: x } } }\n')).toMatch(
      /letters, digits/,
    );
    expect(configError('adapters: { rabbitmq: { sharedSecret: { value: x } } }\n')).toMatch(
      /unknown key "sharedSecret"/,
    );
  });
});

describe('metrics: a separate listener or a bearer token, as chosen', () => {
  it('serves no /metrics unless configured', async () => {
    const server = await start(workdir(), '');
    try {
      expect((await server.app.inject({ url: '/metrics' })).statusCode).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('requires the bearer token on the main listener', async () => {
    const server = await start(workdir(), 'metrics: { bearerToken: metrics-token-value }\n');
    try {
      const get = (authorization?: string) =>
        server.app.inject({ url: '/metrics', headers: authorization ? { authorization } : {} });
      const missing = await get();
      expect(missing.statusCode).toBe(401);
      expect(missing.headers['www-authenticate']).toMatch(/^Bearer/);
      expect((await get('Bearer wrong')).statusCode).toBe(401);
      expect((await get('Basic bWV0cmljcy10b2tlbi12YWx1ZQ==')).statusCode).toBe(401);
      const ok = await get('Bearer metrics-token-value');
      expect(ok.statusCode).toBe(200);
      expect(ok.body).toMatch(/mqtt_warden_decision_cache_hit_ratio/);
    } finally {
      await server.close();
    }
  });

  it('serves /metrics, /healthz and /readyz on the separate listener only', async () => {
    const server = await start(
      workdir(),
      'listen: { host: 127.0.0.1, port: 0 }\nmetrics: { listen: { port: 0 }, path: /prom }\n',
    );
    let ops = '';
    try {
      const base = await server.listen();
      ops = server.operations!.listeningOrigin;
      expect(ops).not.toBe(base);
      const prom = await fetch(`${ops}/prom`);
      expect(prom.status).toBe(200);
      expect(await prom.text()).toMatch(/mqtt_warden_decision_cache_hit_ratio/);
      expect((await fetch(`${ops}/healthz`)).status).toBe(200);
      expect((await fetch(`${ops}/readyz`)).status).toBe(200);
      expect((await fetch(`${ops}/emqx/authn`, { method: 'POST' })).status).toBe(404);
      expect((await fetch(`${base}/prom`)).status).toBe(404);
      expect((await fetch(`${base}/metrics`)).status).toBe(404);
    } finally {
      await server.close();
    }
    await expect(fetch(`${ops}/healthz`)).rejects.toThrow();
  });

  it('requires the token on the separate listener when both are given', async () => {
    const server = await start(
      workdir(),
      'metrics: { listen: { port: 0 }, bearerToken: { env: WARDEN_TEST_METRICS } }\n',
    ).catch((error: Error) => error);
    expect(String(server)).toMatch(/WARDEN_TEST_METRICS is not set/);
    process.env.WARDEN_TEST_METRICS = 'env-metrics-token';
    try {
      const both = await start(
        workdir(),
        'metrics: { listen: { port: 0 }, bearerToken: { env: WARDEN_TEST_METRICS } }\n',
      );
      try {
        await both.listen();
        const ops = both.operations!.listeningOrigin;
        expect((await fetch(`${ops}/metrics`)).status).toBe(401);
        const ok = await fetch(`${ops}/metrics`, { headers: { authorization: 'Bearer env-metrics-token' } });
        expect(ok.status).toBe(200);
      } finally {
        await both.close();
      }
    } finally {
      delete process.env.WARDEN_TEST_METRICS;
    }
  });

  it('asks for a choice when metrics says neither', () => {
    expect(configError('metrics: { path: /m }\n')).toMatch(
      /warden\.yaml:3:\d+.*choose where metrics are served/s,
    );
  });
});

import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createWardenServer, parseServerConfig, type WardenServer } from '@mqtt-warden/server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run } from '../src/commands/serve.js';
import { epoch, sasToken, signJwt, tamper } from './tokens.js';

const QUICKSTART = fileURLToPath(new URL('../../../examples/quickstart/', import.meta.url));

const basic = (username: string, password: string) =>
  `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
const DEVICE_KEY = randomBytes(32);
const decode = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;

describe('device tokens end to end over HTTP: password → token → EMQX authn with the token', () => {
  let server: WardenServer;
  let base: string;
  let logs = '';
  const issued: string[] = [];

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-tokens-'));
    for (const f of ['policy.yaml', 'users.yaml']) copyFileSync(join(QUICKSTART, f), join(dir, f));
    const stream = new PassThrough();
    stream.on('data', (chunk) => (logs += chunk));
    const config = parseServerConfig(
      `listen: { host: 127.0.0.1, port: 0 }
log: { level: trace, requests: true }
policy: { file: policy.yaml }
authenticators: [{ type: password, file: users.yaml }]
deviceTokens: { enabled: true, lifetimeSeconds: 300 }
metrics: { bearerToken: metrics-token }
`,
      { file: join(dir, 'warden.yaml') },
    );
    server = await createWardenServer(config, { logStream: stream });
    base = await server.listen();
  });
  afterAll(() => server?.close());

  async function requestToken(
    authorization: string | undefined,
    body: string,
    type = 'application/x-www-form-urlencoded',
  ) {
    const response = await fetch(`${base}/token`, {
      method: 'POST',
      headers: { 'content-type': type, ...(authorization ? { authorization } : {}) },
      body,
    });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as Record<string, unknown>,
    };
  }

  async function emqxAuthn(body: Record<string, string>) {
    const response = await fetch(`${base}/emqx/authn`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return (await response.json()) as Record<string, unknown>;
  }

  it('issues a token for valid credentials, usable as the MQTT password for that client id and username', async () => {
    const before = epoch();
    const { status, headers, body } = await requestToken(basic('demo', 'demo-password'), 'client_id=demo');
    expect(status).toBe(200);
    expect(headers.get('cache-control')).toBe('no-store');
    expect(body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 300 });
    const token = body.access_token as string;
    issued.push(token);
    expect(decode(token)).toMatchObject({
      iss: 'mqtt-warden',
      aud: 'mqtt',
      sub: 'demo',
      clientid: 'demo',
      username: 'demo',
      amr: ['password'],
    });

    const allowed = await emqxAuthn({ clientid: 'demo', username: 'demo', password: token });
    expect(allowed).toMatchObject({ result: 'allow', is_superuser: false });
    expect(allowed.expire_at).toBeGreaterThanOrEqual(before + 300);
    expect(allowed.expire_at).toBeLessThanOrEqual(epoch() + 300);
    // The token principal is remembered for authorization.
    const authz = await fetch(`${base}/emqx/authz`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        username: 'demo',
        clientid: 'demo',
        action: 'publish',
        topic: 'devices/demo/t',
      }),
    });
    expect(await authz.json()).toEqual({ result: 'allow' });
  });

  it('refuses a tampered token, a token for another client id or username, and a forged token of the same issuer', async () => {
    const { body } = await requestToken(
      basic('demo', 'demo-password'),
      '{"client_id":"demo"}',
      'application/json',
    );
    const token = body.access_token as string;
    issued.push(token);
    expect(await emqxAuthn({ clientid: 'demo', username: 'demo', password: token })).toMatchObject({
      result: 'allow',
    });
    expect(await emqxAuthn({ clientid: 'demo', username: 'demo', password: tamper(token) })).toEqual({
      result: 'deny',
    });
    expect(await emqxAuthn({ clientid: 'demo-2', username: 'demo', password: token })).toEqual({
      result: 'deny',
    });
    // The username is the one the server proved when it issued the token: "admin" is refused.
    expect(await emqxAuthn({ clientid: 'demo', username: 'admin', password: token })).toEqual({
      result: 'deny',
    });
    expect(await emqxAuthn({ clientid: 'demo', password: token })).toEqual({ result: 'deny' });
    const forged = signJwt(
      { ...decode(token), exp: epoch(300) },
      'a-secret-that-is-long-enough-for-hs256-0123',
    );
    expect(await emqxAuthn({ clientid: 'demo', username: 'demo', password: forged })).toEqual({
      result: 'deny',
    });
  });

  it('publishes the signing key as a JWKS that verifies issued tokens', async () => {
    const response = await fetch(`${base}/.well-known/jwks.json`);
    expect(response.status).toBe(200);
    const { keys } = (await response.json()) as { keys: Record<string, string>[] };
    expect(keys).toHaveLength(1);
    const [jwk] = keys as [Record<string, string>];
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(jwk).not.toHaveProperty('d');
    const token = issued[0] as string;
    const [header, payload, signature] = token.split('.') as [string, string, string];
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toMatchObject({
      alg: 'ES256',
      kid: jwk.kid,
    });
    // Checked with node:crypto, independently of jose.
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    const data = Buffer.from(`${header}.${payload}`);
    const sig = Buffer.from(signature, 'base64url');
    expect(verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
    expect(
      verify('sha256', Buffer.from(`${header}.${payload}x`), { key, dsaEncoding: 'ieee-p1363' }, sig),
    ).toBe(false);
  });

  it("issues tokens only for client ids the policy binds to the user: never another user's", async () => {
    for (const clientId of ['sensor-1', 'admin', 'demo-2']) {
      const refused = await requestToken(basic('demo', 'demo-password'), `client_id=${clientId}`);
      expect(refused.status, clientId).toBe(401);
      expect(refused.body).not.toHaveProperty('access_token');
    }
    // Nor does demo's password log in as sensor-1's client id.
    expect(await emqxAuthn({ clientid: 'sensor-1', username: 'demo', password: 'demo-password' })).toEqual({
      result: 'deny',
    });
  });

  it('refuses wrong, missing or token credentials with 401 and never issues a token', async () => {
    const wrong = await requestToken(basic('demo', 'nope'), 'client_id=demo');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic realm="mqtt-warden"/);
    expect(wrong.body).toEqual({ error: 'ERR_UNAUTHORIZED', message: 'the credentials were refused' });

    expect((await requestToken(basic('ghost', 'demo-password'), 'client_id=x')).status).toBe(401);
    expect((await requestToken(undefined, 'client_id=demo')).status).toBe(401);
    expect((await requestToken('Bearer abc', 'client_id=demo')).status).toBe(401);
    expect((await requestToken('Basic !!!', 'client_id=demo')).status).toBe(401);
    expect(
      (await requestToken(`Basic ${Buffer.from('no-colon').toString('base64')}`, 'client_id=a')).status,
    ).toBe(401);
    // A device token does not renew itself: the device must prove itself again.
    const renew = await requestToken(basic('demo', issued[0] as string), 'client_id=demo');
    expect(renew.status).toBe(401);
    expect(renew.body.message).toMatch(/cannot be exchanged for another/);
  });

  it('answers malformed requests with 4xx JSON errors: missing or extra fields, wrong type, huge body, wrong content type', async () => {
    const auth = basic('demo', 'demo-password');
    const missing = await requestToken(auth, '');
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({
      error: 'ERR_INVALID_INPUT',
      message: expect.stringMatching(/client_id/),
    });
    expect((await requestToken(auth, 'client_id=demo&scope=all')).status).toBe(400);
    expect((await requestToken(auth, '{"client_id":7}', 'application/json')).status).toBe(400);
    expect((await requestToken(auth, '{"client_id":', 'application/json')).status).toBe(400);
    expect((await requestToken(auth, `client_id=${'x'.repeat(5000)}`)).status).toBe(413);
    const text = await requestToken(auth, 'client_id=demo', 'text/plain');
    expect(text.status).toBe(415);
    expect(text.body.message).toMatch(/form-urlencoded or application\/json/);
    expect((await requestToken(auth, '["demo"]', 'application/json')).status).toBe(400);
    const get = await fetch(`${base}/token`);
    expect(get.status).toBe(404);
  });

  it('serves the same endpoint through inject()', async () => {
    const response = await server.app.inject({
      method: 'POST',
      url: '/token',
      headers: { authorization: basic('sensor-1', 'sensor-password') },
      payload: { client_id: 'sensor-1' },
    });
    expect(response.statusCode).toBe(200);
    const token = response.json().access_token as string;
    issued.push(token);
    const login = await server.app.inject({
      method: 'POST',
      url: '/emqx/authn',
      payload: { clientid: 'sensor-1', username: 'sensor-1', password: token },
    });
    expect(login.json()).toMatchObject({ result: 'allow' });
  });

  it('counts token requests in /metrics', async () => {
    const metrics = { headers: { authorization: 'Bearer metrics-token' } };
    const text = await (await fetch(`${base}/metrics`, metrics)).text();
    expect(text).toMatch(
      /mqtt_warden_decisions_total\{adapter="device-token",action="token",result="allow"\} [1-9]/,
    );
    expect(text).toMatch(
      /mqtt_warden_decisions_total\{adapter="device-token",action="token",result="deny"\} [1-9]/,
    );
    expect(text).toMatch(
      /mqtt_warden_decisions_total\{adapter="device-token",action="token",result="invalid"\} [1-9]/,
    );
  });

  it('never writes passwords or issued tokens to the log', async () => {
    await new Promise((r) => setTimeout(r, 50));
    expect(logs).toContain('/token');
    expect(logs).not.toContain('demo-password');
    expect(logs).not.toContain('sensor-password');
    for (const token of issued) expect(logs).not.toContain(token.split('.')[2]);
  });
});

describe('device tokens are off by default', () => {
  it('mounts no /token or JWKS route without deviceTokens.enabled', async () => {
    const config = parseServerConfig(
      'log: { level: silent }\npolicy: { file: policy.yaml }\nauthenticators: [{ type: password, file: users.yaml }]\ndeviceTokens: { enabled: false }\n',
      { baseDir: QUICKSTART },
    );
    const server = await createWardenServer(config);
    try {
      const token = await server.app.inject({
        method: 'POST',
        url: '/token',
        headers: { authorization: basic('demo', 'demo-password') },
        payload: { client_id: 'demo' },
      });
      expect(token.statusCode).toBe(404);
      expect((await server.app.inject({ url: '/.well-known/jwks.json' })).statusCode).toBe(404);
    } finally {
      await server.close();
    }
  });
});

describe('device tokens next to other verifiers', () => {
  const SECRET = 'an-idp-secret-that-is-long-enough-0123456789';
  let server: WardenServer;
  let base: string;
  let unavailable: WardenServer;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-tokens-chain-'));
    for (const f of ['policy.yaml', 'users.yaml']) copyFileSync(join(QUICKSTART, f), join(dir, f));
    writeFileSync(join(dir, 'devices.psk'), `dev-sas:${DEVICE_KEY.toString('hex')}\n`);
    server = await createWardenServer(
      parseServerConfig(
        `listen: { host: 127.0.0.1, port: 0 }
log: { level: silent }
policy: { file: policy.yaml }
authenticators:
  - { type: sas-token, keys: { file: devices.psk }, roles: [device] }
  - { type: jwt, keys: { secret: "${SECRET}" }, issuer: https://idp.example, bind: { claim: sub, to: clientId } }
  - { type: password, file: users.yaml }
deviceTokens: { enabled: true, issuer: "https://warden.example", path: /device/token, jwksPath: /device/jwks }
`,
        { file: join(dir, 'warden.yaml') },
      ),
    );
    base = await server.listen();
    // An introspection endpoint on a port nobody listens on: the chain cannot decide.
    unavailable = await createWardenServer(
      parseServerConfig(
        `log: { level: silent }
policy: { file: policy.yaml }
authenticators:
  - { type: oauth, introspection: { endpoint: "http://127.0.0.1:9/introspect", clientId: b, clientSecret: s, timeoutMs: 500 } }
deviceTokens: { enabled: true }
`,
        { file: join(dir, 'unavailable.yaml') },
      ),
    );
  });
  afterAll(async () => {
    await server?.close();
    await unavailable?.close();
  });

  const post = (path: string, headers: Record<string, string>, body: string) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });

  it('exchanges a SAS token for a device token, and both token kinds log in side by side', async () => {
    const sas = sasToken('dev-sas', DEVICE_KEY);
    // The SAS authenticator proves the device id as username: an empty or other username is refused.
    for (const username of ['', 'admin']) {
      const refused = await post(
        '/device/token',
        { authorization: basic(username, sas) },
        '{"client_id":"dev-sas"}',
      );
      expect(refused.status, username).toBe(401);
    }
    const response = await post(
      '/device/token',
      { authorization: basic('dev-sas', sas) },
      '{"client_id":"dev-sas"}',
    );
    expect(response.status).toBe(200);
    const token = ((await response.json()) as { access_token: string }).access_token;
    expect(decode(token)).toMatchObject({
      iss: 'https://warden.example',
      sub: 'dev-sas',
      amr: ['sas-token'],
    });
    expect(decode(token)).toMatchObject({ username: 'dev-sas' });

    const authn = async (body: Record<string, string>) =>
      (await (await post('/emqx/authn', {}, JSON.stringify(body))).json()) as Record<string, unknown>;
    const device = { clientid: 'dev-sas', username: 'dev-sas' };
    expect(await authn({ ...device, password: token })).toMatchObject({ result: 'allow' });
    expect(await authn({ ...device, password: tamper(token) })).toEqual({ result: 'deny' });
    expect(await authn({ clientid: 'dev-sas', password: token })).toEqual({ result: 'deny' });
    // The identity provider's tokens are left to the jwt authenticator, which still accepts its own.
    const idp = signJwt({ iss: 'https://idp.example', sub: 'dev-idp', exp: epoch(60) }, SECRET);
    expect(await authn({ clientid: 'dev-idp', password: idp })).toMatchObject({ result: 'allow' });
    expect(await authn({ clientid: 'dev-idp', password: tamper(idp) })).toEqual({ result: 'deny' });
    expect((await fetch(`${base}/device/jwks`)).status).toBe(200);
    expect((await fetch(`${base}/.well-known/jwks.json`)).status).toBe(404);
  });

  it('fails closed: a verifier backend that cannot answer gives 503 and no token', async () => {
    const response = await unavailable.app.inject({
      method: 'POST',
      url: '/token',
      headers: { authorization: basic('', 'some-opaque-token') },
      payload: { client_id: 'svc' },
    });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ error: 'ERR_UNAVAILABLE', message: 'try again later' });
  });
});

describe('mqtt-warden serve with device tokens', () => {
  it('prints the token endpoint and serves it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-serve-tokens-'));
    for (const f of ['policy.yaml', 'users.yaml']) copyFileSync(join(QUICKSTART, f), join(dir, f));
    const file = join(dir, 'warden.yaml');
    writeFileSync(
      file,
      'listen: { port: 0 }\nlog: { level: silent }\npolicy: { file: policy.yaml }\nauthenticators: [{ type: password, file: users.yaml }]\ndeviceTokens: { enabled: true }\n',
    );
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    try {
      const exit = run(['--config', file]);
      await vi.waitFor(() => expect(lines.some((l) => l.startsWith('device tokens: POST '))).toBe(true));
      const [, endpoint, jwks] = /^device tokens: POST (\S+), keys at (\S+)$/.exec(lines[1] ?? '') ?? [];
      expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/token$/);
      expect(jwks).toMatch(/\/\.well-known\/jwks\.json$/);
      const response = await fetch(endpoint as string, {
        method: 'POST',
        headers: { authorization: basic('demo', 'demo-password'), 'content-type': 'application/json' },
        body: '{"client_id":"demo"}',
      });
      expect(response.status).toBe(200);
      expect(((await fetch(jwks as string).then((r) => r.json())) as { keys: unknown[] }).keys).toHaveLength(
        1,
      );
      process.emit('SIGTERM');
      expect(await exit).toBe(0);
    } finally {
      log.mockRestore();
    }
  });
});

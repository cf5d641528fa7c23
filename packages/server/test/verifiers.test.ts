import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createWardenServer, parseServerConfig, type WardenServer } from '@mqtt-warden/server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { certPem, makePki } from './pki.js';
import { epoch, sasToken, signJwt, tamper } from './tokens.js';

const QUICKSTART = fileURLToPath(new URL('../../../examples/quickstart/', import.meta.url));

// Secrets that must never show up in a log line.
const JWT_SECRET = `jwt-${randomBytes(24).toString('hex')}`;
const CLIENT_SECRET = `client-${randomBytes(24).toString('hex')}`;
const DEVICE_KEY = randomBytes(32);
const RSA = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ISSUER_JWK = { ...RSA.publicKey.export({ format: 'jwk' }), kid: 'as-key-1', alg: 'RS256', use: 'sig' };

describe('every verifier type through the server (EMQX authn, inject() and real HTTP)', () => {
  let dir: string;
  let server: WardenServer;
  let base: string;
  let as: Server;
  let asUrl: string;
  let logs = '';
  const introspected: string[] = [];
  const secretsSeen: string[] = [];
  const opaque = `opaque-${randomBytes(16).toString('hex')}`;

  beforeAll(async () => {
    // The authorization server: RFC 7662 introspection (client_secret_basic) and a JWKS for RFC 9068 tokens.
    as = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        if (req.url === '/jwks') return res.end(JSON.stringify({ keys: [ISSUER_JWK] }));
        const expected = `Basic ${Buffer.from(`broker:${CLIENT_SECRET}`).toString('base64')}`;
        if (req.url !== '/introspect' || req.headers.authorization !== expected) {
          res.statusCode = 401;
          return res.end('{"error":"invalid_client"}');
        }
        const token = new URLSearchParams(body).get('token') ?? '';
        introspected.push(token);
        res.end(
          JSON.stringify(
            token === opaque
              ? { active: true, sub: 'svc-1', client_id: 'svc-1', scope: 'fleet', exp: epoch(600) }
              : { active: false },
          ),
        );
      });
    });
    await new Promise<void>((resolve) => as.listen(0, '127.0.0.1', resolve));
    asUrl = `http://127.0.0.1:${(as.address() as AddressInfo).port}`;

    dir = mkdtempSync(join(tmpdir(), 'warden-verifiers-'));
    for (const f of ['policy.yaml', 'users.yaml']) copyFileSync(join(QUICKSTART, f), join(dir, f));
    makePki(dir);
    writeFileSync(join(dir, 'devices.psk'), `# device keys\ndev-sas:${DEVICE_KEY.toString('hex')}\n`);
    writeFileSync(join(dir, 'client.secret'), `${CLIENT_SECRET}\n`);
    process.env.WARDEN_VERIFIERS_JWT_SECRET = JWT_SECRET;
    secretsSeen.push(JWT_SECRET, CLIENT_SECRET, DEVICE_KEY.toString('hex'), DEVICE_KEY.toString('base64'));

    const text = `listen: { host: 127.0.0.1, port: 0 }
log: { level: trace, requests: true }
policy: { file: policy.yaml }
authenticators:
  - type: x509
    trustAnchors: [ca.pem]
    crl: { files: [ca.crl] }
    identity: { id: cn, requireClientIdMatch: cn }
    roles: [device]
  - type: sas-token
    keys: { file: devices.psk }
    hostName: hub.example.com
    roles: [device]
  - type: jwt
    keys: { secret: { env: WARDEN_VERIFIERS_JWT_SECRET } }
    algorithms: [HS256]
    issuer: https://idp.example
    audience: mqtt
    bind: { claim: sub, to: clientId }
  - type: password
    file: users.yaml
    unknownUser: ignore
  - type: oauth
    introspection: { endpoint: "${asUrl}/introspect", clientId: broker, clientSecret: { file: client.secret } }
    jwt: { keys: { jwksUrl: "${asUrl}/jwks" }, issuer: "${asUrl}", audience: "urn:mqtt" }
    scopes: { roles: { fleet: device } }
`;
    const stream = new PassThrough();
    stream.on('data', (chunk) => (logs += chunk));
    server = await createWardenServer(parseServerConfig(text, { file: join(dir, 'warden.yaml') }), {
      logStream: stream,
    });
    base = await server.listen();
  });

  afterAll(async () => {
    await server?.close();
    as?.close();
    delete process.env.WARDEN_VERIFIERS_JWT_SECRET;
  });

  /** The EMQX authn answer, asked once through inject() and once over HTTP; both must agree. */
  async function authn(body: Record<string, string>): Promise<Record<string, unknown>> {
    const injected = await server.app.inject({ method: 'POST', url: '/emqx/authn', payload: body });
    const overHttp = await fetch(`${base}/emqx/authn`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(overHttp.status).toBe(200);
    const answer = (await overHttp.json()) as Record<string, unknown>;
    expect(injected.json()).toEqual(answer);
    return answer;
  }

  const authz = async (username: string, clientid: string, topic: string) =>
    (
      await server.app.inject({
        method: 'POST',
        url: '/emqx/authz',
        payload: { username, clientid, topic, action: 'publish' },
      })
    ).json();

  it('x509: a certificate from the trusted CA is allowed; another CA, a revoked one, or a client id mismatch is denied', async () => {
    const allowed = await authn({ clientid: 'dev-x', username: 'dev-x', cert_pem: certPem(dir, 'dev-x') });
    expect(allowed).toMatchObject({ result: 'allow', is_superuser: false });
    expect(allowed.expire_at).toEqual(expect.any(Number));
    expect(await authz('dev-x', 'dev-x', 'devices/dev-x/t')).toEqual({ result: 'allow' });
    expect(await authz('dev-x', 'dev-x', 'devices/dev-y/t')).toEqual({ result: 'deny' });

    expect(await authn({ clientid: 'stranger', cert_pem: certPem(dir, 'stranger') })).toEqual({
      result: 'deny',
    });
    expect(await authn({ clientid: 'dev-revoked', cert_pem: certPem(dir, 'dev-revoked') })).toEqual({
      result: 'deny',
    });
    expect(await authn({ clientid: 'someone-else', cert_pem: certPem(dir, 'dev-x') })).toEqual({
      result: 'deny',
    });
  });

  it('sas-token: a token signed with the device key is allowed; a wrong key, an expired token or another device is denied', async () => {
    const token = sasToken('dev-sas', DEVICE_KEY);
    secretsSeen.push(token);
    expect(await authn({ clientid: 'dev-sas', username: 'dev-sas', password: token })).toMatchObject({
      result: 'allow',
    });
    expect(await authz('dev-sas', 'dev-sas', 'devices/dev-sas/t')).toEqual({ result: 'allow' });

    const forged = sasToken('dev-sas', randomBytes(32));
    expect(await authn({ clientid: 'dev-sas', password: forged })).toEqual({ result: 'deny' });
    expect(
      await authn({ clientid: 'dev-sas', password: sasToken('dev-sas', DEVICE_KEY, epoch(-60)) }),
    ).toEqual({
      result: 'deny',
    });
    expect(await authn({ clientid: 'dev-other', password: token })).toEqual({ result: 'deny' });
  });

  it('jwt: an HS256 token with the right secret, issuer and audience is allowed; a wrong secret, audience or binding is denied', async () => {
    const claims = {
      iss: 'https://idp.example',
      aud: 'mqtt',
      sub: 'dev-jwt',
      roles: ['device'],
      exp: epoch(300),
    };
    const token = signJwt(claims, JWT_SECRET);
    secretsSeen.push(token);
    const allowed = await authn({ clientid: 'dev-jwt', username: 'dev-jwt', password: token });
    expect(allowed).toMatchObject({ result: 'allow', is_superuser: false, expire_at: claims.exp });
    expect(await authz('dev-jwt', 'dev-jwt', 'devices/dev-jwt/t')).toEqual({ result: 'allow' });

    expect(await authn({ clientid: 'dev-jwt', password: signJwt(claims, `x${JWT_SECRET}`) })).toEqual({
      result: 'deny',
    });
    expect(await authn({ clientid: 'dev-jwt', password: tamper(token) })).toEqual({ result: 'deny' });
    expect(
      await authn({ clientid: 'dev-jwt', password: signJwt({ ...claims, aud: 'other' }, JWT_SECRET) }),
    ).toEqual({ result: 'deny' });
    expect(await authn({ clientid: 'dev-elsewhere', password: token })).toEqual({ result: 'deny' });
    // A JWT from an issuer nobody in the chain trusts passes every token verifier and is refused at the end.
    expect(
      await authn({
        clientid: 'dev-jwt',
        password: signJwt({ ...claims, iss: 'https://evil.example' }, JWT_SECRET),
      }),
    ).toEqual({ result: 'deny' });
  });

  it('oauth: an active opaque token and a valid RFC 9068 JWT are allowed; inactive, tampered or foreign tokens are denied', async () => {
    expect(await authn({ clientid: 'svc-1', username: 'svc-1', password: opaque })).toMatchObject({
      result: 'allow',
    });
    // The scope "fleet" maps to the device role.
    expect(await authz('svc-1', 'svc-1', 'devices/svc-1/t')).toEqual({ result: 'allow' });
    expect(await authn({ clientid: 'svc-1', password: 'opaque-but-inactive' })).toEqual({ result: 'deny' });

    const at = signJwt(
      {
        iss: asUrl,
        aud: 'urn:mqtt',
        sub: 'svc-2',
        client_id: 'svc-2',
        iat: epoch(),
        jti: 'j1',
        exp: epoch(300),
        scope: 'mqtt:publish:fleet/${clientid}/status',
      },
      RSA.privateKey,
      { typ: 'at+jwt', kid: 'as-key-1' },
    );
    secretsSeen.push(at, opaque);
    expect(await authn({ clientid: 'svc-2', password: at })).toMatchObject({ result: 'allow' });
    expect(await authz('', 'svc-2', 'fleet/svc-2/status')).toEqual({ result: 'allow' });
    expect(await authz('', 'svc-2', 'fleet/svc-3/status')).toEqual({ result: 'deny' });
    expect(await authn({ clientid: 'svc-2', password: tamper(at) })).toEqual({ result: 'deny' });
    // A plain JWT (typ JWT) of the right issuer is not an access token.
    const plain = signJwt({ iss: asUrl, aud: 'urn:mqtt', sub: 'svc-2', exp: epoch(300) }, RSA.privateKey, {
      kid: 'as-key-1',
    });
    expect(await authn({ clientid: 'svc-2', password: plain })).toEqual({ result: 'deny' });
  });

  it('password logins still work, and their passwords never reach the introspection endpoint', async () => {
    expect(await authn({ clientid: 'demo', username: 'demo', password: 'demo-password' })).toMatchObject({
      result: 'allow',
      is_superuser: false,
    });
    expect(await authn({ clientid: 'demo', username: 'demo', password: 'wrong' })).toEqual({
      result: 'deny',
    });
    expect(introspected).not.toContain('demo-password');
    expect(introspected).not.toContain('wrong');
  });

  it('never writes a secret, key or token from the config or the requests to the log (trace level)', async () => {
    await new Promise((r) => setTimeout(r, 50));
    expect(logs).toContain('/emqx/authn');
    for (const secret of [...secretsSeen, 'demo-password']) expect(logs).not.toContain(secret);
  });
});

describe('reloading device keys', () => {
  it('picks up a changed device keys file by itself and on reload(), keeping the old keys when the file is invalid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-sas-reload-'));
    copyFileSync(join(QUICKSTART, 'policy.yaml'), join(dir, 'policy.yaml'));
    const keys = join(dir, 'devices.psk');
    const first = randomBytes(32);
    const second = randomBytes(32);
    writeFileSync(keys, `dev-1:${first.toString('hex')}\n`);
    const server = await createWardenServer(
      parseServerConfig(
        'log: { level: silent }\npolicy: { file: policy.yaml }\nauthenticators: [{ type: sas-token, keys: { file: devices.psk } }]\n',
        { file: join(dir, 'warden.yaml') },
      ),
    );
    const login = async (deviceId: string, key: Buffer) =>
      (
        await server.app.inject({
          method: 'POST',
          url: '/emqx/authn',
          payload: { clientid: deviceId, username: deviceId, password: sasToken(deviceId, key) },
        })
      ).json().result;
    try {
      expect(await login('dev-1', first)).toBe('allow');
      expect(await login('dev-2', second)).toBe('deny');
      writeFileSync(keys, `dev-2:${second.toString('hex')}\n`);
      await vi.waitFor(async () => expect(await login('dev-2', second)).toBe('allow'), {
        timeout: 3000,
        interval: 50,
      });
      expect(await login('dev-1', first)).toBe('deny');

      // An invalid file is refused as a whole; the keys in use stay.
      writeFileSync(keys, `dev-1:${first.toString('hex')}\ndev-3:zz\n`);
      await server.reload();
      expect(await login('dev-2', second)).toBe('allow');
      expect(await login('dev-1', first)).toBe('deny');
      writeFileSync(keys, `dev-1:${first.toString('hex')}\n`);
      await server.reload();
      expect(await login('dev-1', first)).toBe('allow');
    } finally {
      await server.close();
    }
  });
});

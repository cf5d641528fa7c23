import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createWardenServer, parseServerConfig, type WardenServer } from '@mqtt-warden/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certPem, makePki } from './pki.js';
import { epoch, signJwt } from './tokens.js';

const QUICKSTART = fileURLToPath(new URL('../../../examples/quickstart/', import.meta.url));
const JWT_SECRET = randomBytes(32).toString('hex');
const KEY = randomBytes(32).toString('hex');

const CHAIN = `authenticators:
  - type: x509
    trustAnchors: [ca.pem]
    identity: { id: cn }
    roles: [device]
  - type: jwt
    keys: { secret: "${JWT_SECRET}" }
    algorithms: [HS256]
    issuer: https://idp.example
    audience: mqtt
    claims: { roles: roles }
  - type: password
    file: users.yaml
`;

const jwt = (sub: string) =>
  signJwt({ iss: 'https://idp.example', aud: 'mqtt', sub, roles: ['device'], exp: epoch(600) }, JWT_SECRET);

let dir: string;
function config(extra = `sessions: { ticket: { key: "${KEY}" } }\n`, chain = CHAIN) {
  return parseServerConfig(
    `listen: { host: 127.0.0.1, port: 0 }\nlog: { level: silent }\npolicy: { file: policy.yaml, watch: false }\n${chain}${extra}`,
    { file: join(dir, 'warden.yaml') },
  );
}

/** One EMQX session: log in, then ask authz with the client_attrs EMQX would carry. */
async function emqxLogin(server: WardenServer, body: Record<string, string>) {
  const reply = (await server.app.inject({ method: 'POST', url: '/emqx/authn', payload: body })).json();
  expect(reply.result).toBe('allow');
  return (reply.client_attrs ?? {}) as Record<string, string>;
}
async function emqxAuthz(
  server: WardenServer,
  username: string,
  clientid: string,
  topic: string,
  attrs: Record<string, string> = {},
  action = 'publish',
) {
  const carried = Object.fromEntries(Object.entries(attrs).map(([k, v]) => [`client_attrs.${k}`, v]));
  const reply = await server.app.inject({
    method: 'POST',
    url: '/emqx/authz',
    payload: { username, clientid, topic, action, ...carried },
  });
  return reply.json().result as string;
}
const goAuth = async (server: WardenServer, path: string, payload: Record<string, unknown>) =>
  (await server.app.inject({ method: 'POST', url: `/mosquitto/${path}`, payload })).statusCode === 200;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'warden-sessions-'));
  for (const f of ['policy.yaml', 'users.yaml']) copyFileSync(join(QUICKSTART, f), join(dir, f));
  makePki(dir);
});

describe('a restart (a new server on the same config)', () => {
  let first: WardenServer;
  let second: WardenServer;
  afterAll(async () => {
    await first?.close();
    await second?.close();
  });

  it('never grants by a claimed name, and keeps EMQX clients that carry their ticket', async () => {
    first = await createWardenServer(config());
    // A JWT user that connected as "admin", a JWT device under its own name, the real admin.
    const mallory = await emqxLogin(first, {
      username: 'admin',
      clientid: 'mallory',
      password: jwt('mallory'),
    });
    const device = await emqxLogin(first, {
      username: 'dev-jwt',
      clientid: 'dev-jwt',
      password: jwt('dev-jwt'),
    });
    const admin = await emqxLogin(first, {
      username: 'admin',
      clientid: 'admin',
      password: 'admin-password',
    });
    await goAuth(first, 'user', { username: 'admin', password: jwt('mallory'), clientid: 'mallory' });
    expect(await emqxAuthz(first, 'dev-jwt', 'dev-jwt', 'devices/dev-jwt/t')).toBe('allow');
    await first.close();

    second = await createWardenServer(config());
    // Without the ticket nobody is known: refused, never admin's store entry.
    expect(await emqxAuthz(second, 'admin', 'mallory', '#', {}, 'subscribe')).toBe('deny');
    expect(await goAuth(second, 'acl', { username: 'admin', clientid: 'mallory', topic: '#', acc: 4 })).toBe(
      false,
    );
    expect(await goAuth(second, 'superuser', { username: 'admin' })).toBe(false);
    // With its ticket, mallory is rebuilt as itself: the JWT subject, not the superuser.
    const rebuilt = await second.directory.resolve({
      username: 'admin',
      clientId: 'mallory',
      attributes: mallory,
    });
    expect(rebuilt).toMatchObject({ id: 'mallory', method: 'jwt' });
    expect(rebuilt?.superuser).not.toBe(true);
    // Legitimate clients carrying their ticket keep their grants, and only those.
    expect(await emqxAuthz(second, 'dev-jwt', 'dev-jwt', 'devices/dev-jwt/t', device)).toBe('allow');
    expect(await emqxAuthz(second, 'dev-jwt', 'dev-jwt', 'devices/other/t', device)).toBe('deny');
    expect(await emqxAuthz(second, 'admin', 'admin', '$SYS/#', admin, 'subscribe')).toBe('allow');
    // A ticket is bound to its session: not another client's, not another name's, not altered.
    expect(await emqxAuthz(second, 'dev-jwt', 'other', 'devices/other/t', device)).toBe('deny');
    expect(await emqxAuthz(second, 'admin', 'dev-jwt', '$SYS/#', device, 'subscribe')).toBe('deny');
    expect(await emqxAuthz(second, 'admin', 'admin-2', '#', admin, 'subscribe')).toBe('deny');
    second.directory.clear();
    const altered = { warden_session: `${admin.warden_session?.slice(0, -2)}AA` };
    expect(await emqxAuthz(second, 'admin', 'admin', '#', altered, 'subscribe')).toBe('deny');
  });

  it('refuses tickets signed with another key (a replica with its own, or a random one)', async () => {
    const a = await createWardenServer(config());
    const b = await createWardenServer(
      config(`sessions: { ticket: { key: "${randomBytes(32).toString('hex')}" } }\n`),
    );
    const random = await createWardenServer(config(''));
    try {
      const attrs = await emqxLogin(a, {
        username: 'dev-jwt',
        clientid: 'dev-jwt',
        password: jwt('dev-jwt'),
      });
      expect(await emqxAuthz(b, 'dev-jwt', 'dev-jwt', 'devices/dev-jwt/t', attrs)).toBe('deny');
      expect(await emqxAuthz(random, 'dev-jwt', 'dev-jwt', 'devices/dev-jwt/t', attrs)).toBe('deny');
      // Replicas sharing the key accept each other's tickets.
      const replica = await createWardenServer(config());
      expect(await emqxAuthz(replica, 'dev-jwt', 'dev-jwt', 'devices/dev-jwt/t', attrs)).toBe('allow');
      await replica.close();
    } finally {
      await Promise.all([a.close(), b.close(), random.close()]);
    }
  });

  it('does not lock out go-auth password clients: rebuilt from the users file when every authenticator proves usernames', async () => {
    const chain = 'authenticators: [{ type: password, file: users.yaml }]\n';
    const before = await createWardenServer(config('', chain));
    await goAuth(before, 'user', { username: 'demo', password: 'demo-password', clientid: 'demo' });
    await before.close();
    const after = await createWardenServer(config('', chain));
    try {
      const acl = { username: 'demo', clientid: 'demo', topic: 'devices/demo/t', acc: 2 };
      expect(await goAuth(after, 'acl', acl)).toBe(true);
      expect(await goAuth(after, 'superuser', { username: 'admin' })).toBe(true);
      expect(await goAuth(after, 'acl', { ...acl, topic: 'devices/demo-2/t' })).toBe(false);
    } finally {
      await after.close();
    }
  });
});

describe('the superuser endpoint answers from the authenticated principal', () => {
  it('answers false for a JWT or certificate user that calls itself admin, true for admin’s own session', async () => {
    const server = await createWardenServer(config());
    try {
      await goAuth(server, 'user', { username: 'admin', password: jwt('mallory'), clientid: 'mallory' });
      expect(await goAuth(server, 'superuser', { username: 'admin' })).toBe(false);
      await emqxLogin(server, { username: 'admin', clientid: 'dev-x', cert_pem: certPem(dir, 'dev-x') });
      expect(await goAuth(server, 'superuser', { username: 'admin' })).toBe(false);
      server.directory.clear();
      expect(await goAuth(server, 'superuser', { username: 'admin' })).toBe(false);
      await goAuth(server, 'user', { username: 'admin', password: 'admin-password', clientid: 'admin' });
      expect(await goAuth(server, 'superuser', { username: 'admin' })).toBe(true);
    } finally {
      await server.close();
    }
  });
});

describe('sessions config', () => {
  it('warns when tickets are signed with a random key, refuses a short key, and turns tickets off with false', async () => {
    let logs = '';
    const stream = new PassThrough();
    stream.on('data', (chunk) => (logs += chunk));
    const random = await createWardenServer(
      parseServerConfig(
        `log: { level: warn }\npolicy: { file: policy.yaml, watch: false }\nauthenticators: [{ type: password, file: users.yaml }]\n`,
        { file: join(dir, 'warden.yaml') },
      ),
      { logStream: stream },
    );
    await random.close();
    expect(logs).toContain('sessions.ticket.key is not set');

    writeFileSync(join(dir, 'short.key'), 'too-short\n');
    await expect(
      createWardenServer(config('sessions: { ticket: { key: { file: short.key } } }\n')),
    ).rejects.toThrow(
      /warden\.yaml:\d+:\d+ \(sessions\.ticket\.key\): a session ticket key needs at least 32 bytes/,
    );

    const off = await createWardenServer(config('sessions: { ticket: false }\n'));
    try {
      const reply = await off.app.inject({
        method: 'POST',
        url: '/emqx/authn',
        payload: { username: 'demo', password: 'demo-password', clientid: 'demo' },
      });
      expect(reply.json()).toEqual({ result: 'allow', is_superuser: false });
    } finally {
      await off.close();
    }
  });

  it('sizes the remembered sessions from cache.principals', async () => {
    const server = await createWardenServer(
      config(`cache: { principals: { maxBytes: 65536, ttlMs: 60000 } }\n`),
    );
    try {
      for (let i = 0; i < 200; i++) {
        await server.app.inject({
          method: 'POST',
          url: '/emqx/authn',
          payload: { username: `dev-${i}`, clientid: `dev-${i}`, password: jwt(`dev-${i}`) },
        });
      }
      const { sessions, bytes } = server.directory.stats();
      expect(bytes).toBeLessThanOrEqual(65_536);
      expect(sessions).toBeLessThan(200);
      expect(sessions).toBeGreaterThan(20);
    } finally {
      await server.close();
    }
  });
});

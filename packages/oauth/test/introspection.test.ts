import { createIntrospectionClient, createOAuthAuthenticator } from '@mqtt-warden/oauth';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuthorizationServer, CLIENTS, OPAQUE_RESOURCE } from './authorization-server.js';
import { withPassword } from './connect-request.js';
import { FakeIntrospection } from './fake-introspection.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('RFC 7662 introspection against oidc-provider', () => {
  const as = new AuthorizationServer();
  beforeAll(() => as.start());
  afterAll(() => as.stop());

  const oauth = (client: { id: string; secret: string } = CLIENTS.broker, extra = {}) =>
    createOAuthAuthenticator({
      introspection: createIntrospectionClient({
        endpoint: as.introspectionEndpoint,
        clientId: client.id,
        clientSecret: client.secret,
        clientAuth: client === CLIENTS.brokerPost ? 'client_secret_post' : 'client_secret_basic',
      }),
      scopes: { roles: { fleet: 'fleet-reader' } },
      ...extra,
    });

  it('accepts an opaque token (client_secret_basic) and maps scopes to roles and rules', async () => {
    const token = await as.token(OPAQUE_RESOURCE);
    const outcome = await oauth().authenticate(withPassword(token));
    if (outcome.outcome !== 'allow') throw new Error(JSON.stringify(outcome));
    const p = outcome.principal;
    expect(p).toMatchObject({
      id: 'sensor-1',
      clientId: 'sensor-1',
      method: 'oauth',
      roles: ['fleet-reader'],
    });
    expect(p.attributes.scope).toEqual([
      'mqtt:publish:sensors/${clientid}/temp',
      'mqtt:read:commands/${clientid}/#',
      'mqtt:receive:broadcast/#',
      'fleet',
    ]);
    expect(p.attributes['claims.client_id']).toBe('sensor-1');
    expect(p.rules).toEqual([
      { effect: 'allow', actions: ['publish'], topics: ['sensors/${clientid}/temp'] },
      { effect: 'allow', actions: ['subscribe', 'receive'], topics: ['commands/${clientid}/#'] },
      { effect: 'allow', actions: ['receive'], topics: ['broadcast/#'] },
    ]);
    expect(p.expiresAt).toBeGreaterThan(Date.now());
    expect(p.expiresAt).toBeLessThanOrEqual(Date.now() + 300_000);
  });

  it('authenticates the resource server with client_secret_post too', async () => {
    const token = await as.token(OPAQUE_RESOURCE);
    expect((await oauth(CLIENTS.brokerPost).authenticate(withPassword(token))).outcome).toBe('allow');
  });

  it('denies a token the server reports inactive (active: false)', async () => {
    expect(await oauth().authenticate(withPassword('not-a-real-token'))).toMatchObject({
      outcome: 'deny',
      reason: 'bad-credentials',
      message: 'the authorization server says the token is not active',
    });
  });

  it('denies unavailable when our own client credentials are refused', async () => {
    const token = await as.token(OPAQUE_RESOURCE);
    expect(
      await oauth({ id: CLIENTS.broker.id, secret: 'wrong' }).authenticate(withPassword(token)),
    ).toMatchObject({
      outcome: 'deny',
      reason: 'unavailable',
      message: expect.stringMatching(/rejected this resource server's client credentials/),
    });
  });

  it('denies a token for another audience when an audience is configured', async () => {
    const token = await as.token(OPAQUE_RESOURCE);
    expect(
      await oauth(CLIENTS.broker, { audience: 'urn:other' }).authenticate(withPassword(token)),
    ).toMatchObject({
      outcome: 'deny',
      message: expect.stringMatching(/audience/),
    });
    expect(
      (await oauth(CLIENTS.broker, { audience: OPAQUE_RESOURCE }).authenticate(withPassword(token))).outcome,
    ).toBe('allow');
  });

  it('denies a token bound to another client id', async () => {
    const token = await as.token(OPAQUE_RESOURCE);
    const bound = oauth(CLIENTS.broker, { bind: { claim: 'client_id', to: 'clientId' } });
    expect((await bound.authenticate(withPassword(token, 'sensor-1'))).outcome).toBe('allow');
    expect(await bound.authenticate(withPassword(token, 'sensor-9'))).toMatchObject({
      outcome: 'deny',
      reason: 'not-authorized',
    });
  });

  it('ignores a connect without a password', async () => {
    expect(await oauth().authenticate({ clientId: 'x', transport: { tls: true } })).toEqual({
      outcome: 'ignore',
    });
  });
});

describe('introspection cache and failures (scripted endpoint)', () => {
  let fake: FakeIntrospection;
  beforeEach(async () => {
    fake = await new FakeIntrospection().start();
  });
  afterEach(() => fake.stop());

  const client = (extra = {}) =>
    createIntrospectionClient({ endpoint: fake.url, clientId: 'rs', clientSecret: 'rs-secret', ...extra });

  it('refuses an answer without aud when an audience is configured, and accepts one that names it', async () => {
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const oauth = createOAuthAuthenticator({
      introspection: client({ cacheTtlMs: 0 }),
      audience: 'urn:mqtt',
    });
    fake.answer = { active: true, sub: 'a', exp };
    expect(await oauth.authenticate(withPassword('t1'))).toMatchObject({
      outcome: 'deny',
      message: expect.stringMatching(/names no audience/),
    });
    fake.answer = { active: true, sub: 'a', exp, aud: [] };
    expect((await oauth.authenticate(withPassword('t1'))).outcome).toBe('deny');
    fake.answer = { active: true, sub: 'a', exp, aud: ['urn:other', 'urn:mqtt'] };
    expect((await oauth.authenticate(withPassword('t1'))).outcome).toBe('allow');
    // Without a configured audience the answer's aud is not required.
    fake.answer = { active: true, sub: 'a', exp };
    const open = createOAuthAuthenticator({ introspection: client({ cacheTtlMs: 0 }) });
    expect((await open.authenticate(withPassword('t1'))).outcome).toBe('allow');
  });

  it('caches an active answer until the TTL, and never past exp', async () => {
    fake.answer = { active: true, sub: 'a', exp: Math.floor(Date.now() / 1000) + 3600 };
    const introspection = client({ cacheTtlMs: 200 });
    await introspection.introspect('t1');
    expect((await introspection.introspect('t1')).active).toBe(true);
    expect(fake.requests).toBe(1);
    await sleep(250);
    await introspection.introspect('t1');
    expect(fake.requests).toBe(2);

    let clock = Date.now();
    const clocked = client({ cacheTtlMs: 60_000, now: () => clock });
    fake.answer = { active: true, sub: 'a', exp: Math.floor(clock / 1000) + 2 };
    expect((await clocked.introspect('t2')).active).toBe(true);
    clock += 3_000; // past exp: the cached active answer no longer counts
    expect((await clocked.introspect('t2')).active).toBe(false);
  });

  it('caches an inactive answer briefly', async () => {
    fake.answer = { active: false };
    const introspection = client({ negativeCacheTtlMs: 200 });
    await introspection.introspect('bad');
    await introspection.introspect('bad');
    expect(fake.requests).toBe(1);
    await sleep(250);
    await introspection.introspect('bad');
    expect(fake.requests).toBe(2);
  });

  it('shares one request between concurrent lookups of a token', async () => {
    fake.answer = { active: true, sub: 'a' };
    fake.delayMs = 50;
    const introspection = client();
    await Promise.all([
      introspection.introspect('t'),
      introspection.introspect('t'),
      introspection.introspect('t'),
    ]);
    expect(fake.requests).toBe(1);
  });

  it('fails closed when the endpoint is slow', async () => {
    fake.answer = { active: true, sub: 'a' };
    fake.delayMs = 2_000;
    const oauth = createOAuthAuthenticator({ introspection: client({ timeoutMs: 200 }) });
    const started = Date.now();
    expect(await oauth.authenticate(withPassword('t'))).toMatchObject({
      outcome: 'deny',
      reason: 'unavailable',
      message: expect.stringMatching(/did not answer within 200 ms/),
    });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('fails closed when the endpoint is down, errors, or answers nonsense', async () => {
    const oauth = createOAuthAuthenticator({ introspection: client() });
    fake.status = 500;
    expect(await oauth.authenticate(withPassword('t'))).toMatchObject({
      outcome: 'deny',
      reason: 'unavailable',
    });
    fake.status = 200;
    fake.answer = { active: 'yes' };
    expect(await oauth.authenticate(withPassword('t2'))).toMatchObject({
      outcome: 'deny',
      reason: 'unavailable',
      message: expect.stringMatching(/"active"/),
    });
    await fake.stop();
    expect(await oauth.authenticate(withPassword('t3'))).toMatchObject({
      outcome: 'deny',
      reason: 'unavailable',
      message: expect.stringMatching(/unreachable/),
    });
  });

  it('never takes the username from CONNECT: a chosen "admin" is only claimed, or must match the proven one', async () => {
    fake.answer = { active: true, sub: 'u-1', username: 'alice', scope: 'fleet' };
    const asAdmin = { ...withPassword('t'), username: 'admin' };
    const plain = createOAuthAuthenticator({ introspection: client() });
    expect(plain.provesUsername).toBe(false);
    const outcome = await plain.authenticate(asAdmin);
    expect(outcome).toMatchObject({ outcome: 'allow', principal: { id: 'u-1', claimedUsername: 'admin' } });
    if (outcome.outcome === 'allow') expect(outcome.principal.username).toBeUndefined();

    const mapped = createOAuthAuthenticator({
      introspection: client(),
      claims: { usernameClaim: 'username' },
    });
    expect(mapped.provesUsername).toBe(true);
    expect(await mapped.authenticate(asAdmin)).toMatchObject({ outcome: 'deny', reason: 'not-authorized' });
    expect(await mapped.authenticate({ ...asAdmin, username: 'alice' })).toMatchObject({
      outcome: 'allow',
      principal: { username: 'alice' },
    });
    const claimed = createOAuthAuthenticator({
      introspection: client(),
      claims: { usernameClaim: 'username' },
      connectUsername: 'claimed',
    });
    expect(await claimed.authenticate(asAdmin)).toMatchObject({
      outcome: 'allow',
      principal: { username: 'alice', claimedUsername: 'admin' },
    });
  });

  it('does not cache failures', async () => {
    fake.status = 503;
    const introspection = client();
    await expect(introspection.introspect('t')).rejects.toThrow();
    fake.status = 200;
    fake.answer = { active: true, sub: 'a' };
    expect((await introspection.introspect('t')).active).toBe(true);
  });

  it('denies an active answer that names no subject', async () => {
    fake.answer = { active: true };
    const oauth = createOAuthAuthenticator({ introspection: client() });
    expect(await oauth.authenticate(withPassword('t'))).toMatchObject({
      outcome: 'deny',
      reason: 'bad-credentials',
    });
  });
});

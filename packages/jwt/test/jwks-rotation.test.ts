import { createJwtAuthenticator } from '@mqtt-warden/jwt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withPassword } from './connect-request.js';
import { JwksServer, signWith, sleep } from './jwks-server.js';

const COOLDOWN = 300;
const MAX_AGE = 800;

describe('JWKS URL keys (local HTTP server with rotating keys)', () => {
  let server: JwksServer;
  beforeEach(async () => {
    server = await new JwksServer().start();
  });
  afterEach(() => server.stop());

  const authenticator = () =>
    createJwtAuthenticator({
      keys: { jwksUrl: server.url, cooldownMs: COOLDOWN, cacheMaxAgeMs: MAX_AGE, timeoutMs: 300 },
      issuer: 'https://idp.test',
      audience: 'mqtt',
    });

  it('picks up a new kid after rotation once the cooldown has passed; old tokens keep working', async () => {
    const k1 = await server.rotate('k1');
    const jwt = authenticator();
    expect((await jwt.authenticate(withPassword(await signWith(k1)))).outcome).toBe('allow');
    expect(server.requests).toBe(1);

    const k2 = await server.rotate('k2');
    const fresh = await signWith(k2);
    // Within the cooldown an unknown kid does not refetch: refused.
    expect(await jwt.authenticate(withPassword(fresh))).toMatchObject({
      outcome: 'deny',
      reason: 'bad-credentials',
    });
    expect(server.requests).toBe(1);

    await sleep(COOLDOWN + 50);
    expect((await jwt.authenticate(withPassword(fresh))).outcome).toBe('allow');
    expect(server.requests).toBe(2);
    expect((await jwt.authenticate(withPassword(await signWith(k1)))).outcome).toBe('allow');
  });

  it('refuses an unknown kid after the cooldown, having asked the endpoint again', async () => {
    await server.rotate('k1');
    const ghost = await new JwksServer().rotate('ghost');
    const jwt = authenticator();
    expect(await jwt.authenticate(withPassword(await signWith(ghost)))).toMatchObject({
      outcome: 'deny',
      reason: 'bad-credentials',
    });
    await sleep(COOLDOWN + 50);
    const before = server.requests;
    expect(await jwt.authenticate(withPassword(await signWith(ghost)))).toMatchObject({
      outcome: 'deny',
      reason: 'bad-credentials',
      message: expect.stringMatching(/kid/),
    });
    expect(server.requests).toBe(before + 1);
  });

  it('keeps the last good key set when the endpoint fails, and recovers', async () => {
    const k1 = await server.rotate('k1');
    const jwt = authenticator();
    expect((await jwt.authenticate(withPassword(await signWith(k1)))).outcome).toBe('allow');

    server.mode = 'error';
    await sleep(MAX_AGE + 50); // the cached set is stale: jose must refetch, and the fetch fails
    expect((await jwt.authenticate(withPassword(await signWith(k1)))).outcome).toBe('allow');
    const afterFailure = server.requests;
    // During the cooldown after a failure the endpoint is left alone.
    expect((await jwt.authenticate(withPassword(await signWith(k1)))).outcome).toBe('allow');
    expect(server.requests).toBe(afterFailure);
    // A tampered token is still refused with the fallback keys.
    const [h, p] = (await signWith(k1)).split('.');
    const other = (await signWith(k1, { sub: 'x' })).split('.')[2];
    expect((await jwt.authenticate(withPassword(`${h}.${p}.${other}`))).outcome).toBe('deny');

    server.mode = 'up';
    const k2 = await server.rotate('k2');
    await sleep(MAX_AGE + 50);
    expect((await jwt.authenticate(withPassword(await signWith(k2)))).outcome).toBe('allow');
  });

  it('denies unavailable when the endpoint fails and no key set was ever fetched', async () => {
    const k1 = await server.rotate('k1');
    server.mode = 'error';
    expect(await authenticator().authenticate(withPassword(await signWith(k1)))).toMatchObject({
      outcome: 'deny',
      reason: 'unavailable',
      message: expect.stringMatching(/JWKS endpoint .* no key set is cached/),
    });
  });

  it('denies unavailable when the endpoint is unreachable or too slow', async () => {
    const k1 = await server.rotate('k1');
    server.mode = 'slow';
    const started = Date.now();
    expect(await authenticator().authenticate(withPassword(await signWith(k1)))).toMatchObject({
      outcome: 'deny',
      reason: 'unavailable',
    });
    expect(Date.now() - started).toBeLessThan(900);
    await server.stop();
    expect(await authenticator().authenticate(withPassword(await signWith(k1)))).toMatchObject({
      outcome: 'deny',
      reason: 'unavailable',
    });
  });
});

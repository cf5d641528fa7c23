import { createGuard } from '@mqtt-warden/core';
import {
  createJwtAccessTokenVerifier,
  createOAuthAuthenticator,
  type JwtAccessTokenOptions,
} from '@mqtt-warden/oauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthorizationServer, JWT_RESOURCE, OPAQUE_RESOURCE } from './authorization-server.js';
import { withPassword } from './connect-request.js';

describe('RFC 9068 JWT access tokens from oidc-provider', () => {
  const as = new AuthorizationServer();
  beforeAll(() => as.start());
  afterAll(() => as.stop());

  const oauth = (extra: Partial<JwtAccessTokenOptions> = {}, bind = false) =>
    createOAuthAuthenticator({
      jwt: createJwtAccessTokenVerifier({
        keys: { jwksUrl: as.jwksUri },
        issuer: as.issuer,
        audience: JWT_RESOURCE,
        ...extra,
      }),
      ...(bind ? { bind: { claim: 'client_id', to: 'clientId' as const } } : {}),
    });

  const claims = () => {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: as.issuer,
      aud: JWT_RESOURCE,
      sub: 'sensor-1',
      client_id: 'sensor-1',
      iat: now,
      exp: now + 60,
      jti: 'j1',
      scope: 'mqtt:publish:a',
    };
  };

  it('verifies a token (typ at+jwt, RS256, JWKS) and grants its scopes', async () => {
    const token = await as.token(JWT_RESOURCE);
    const outcome = await oauth().authenticate(withPassword(token));
    if (outcome.outcome !== 'allow') throw new Error(JSON.stringify(outcome));
    expect(outcome.principal).toMatchObject({ id: 'sensor-1', method: 'oauth' });
    expect(outcome.principal.rules).toContainEqual({
      effect: 'allow',
      actions: ['publish'],
      topics: ['sensors/${clientid}/temp'],
    });
  });

  it('works through the guard', async () => {
    const guard = createGuard({
      authenticators: [oauth()],
      authorizer: { authorize: () => ({ allowed: false, reason: 'default' }) },
    });
    const result = await guard.authenticate(withPassword(await as.token(JWT_RESOURCE)));
    expect(result).toMatchObject({ ok: true, authenticator: 'oauth' });
  });

  it('refuses a token for another audience and from another issuer', async () => {
    const token = await as.token(JWT_RESOURCE);
    expect(await oauth({ audience: 'urn:someone-else' }).authenticate(withPassword(token))).toMatchObject({
      outcome: 'deny',
      message: expect.stringMatching(/"aud"/),
    });
    expect(await oauth({ issuer: 'https://evil.test' }).authenticate(withPassword(token))).toMatchObject({
      outcome: 'deny',
      message: expect.stringMatching(/"iss"/),
    });
  });

  it('refuses a JWT signed by the AS whose typ is not at+jwt (e.g. an ID token)', async () => {
    const token = as.forge({ typ: 'JWT' }, claims());
    expect(await oauth().authenticate(withPassword(token))).toMatchObject({
      outcome: 'deny',
      message: expect.stringMatching(/"typ"/),
    });
    // The same claims with the right typ pass, so typ alone made the difference.
    expect((await oauth().authenticate(withPassword(as.forge({ typ: 'at+jwt' }, claims())))).outcome).toBe(
      'allow',
    );
    expect(
      (await oauth().authenticate(withPassword(as.forge({ typ: 'application/at+jwt' }, claims())))).outcome,
    ).toBe('allow');
  });

  it('refuses a token missing an RFC 9068 required claim, or expired', async () => {
    const { jti: _jti, ...noJti } = claims();
    expect(await oauth().authenticate(withPassword(as.forge({ typ: 'at+jwt' }, noJti)))).toMatchObject({
      outcome: 'deny',
      message: expect.stringMatching(/"jti"/),
    });
    const expired = { ...claims(), exp: Math.floor(Date.now() / 1000) - 60 };
    expect(await oauth().authenticate(withPassword(as.forge({ typ: 'at+jwt' }, expired)))).toMatchObject({
      outcome: 'deny',
      reason: 'expired',
    });
  });

  it('refuses a token bound to another client id', async () => {
    const token = await as.token(JWT_RESOURCE);
    expect(await oauth({}, true).authenticate(withPassword(token, 'sensor-2'))).toMatchObject({
      outcome: 'deny',
      reason: 'not-authorized',
    });
  });

  it('ignores an opaque token when only JWT verification is configured', async () => {
    expect(await oauth().authenticate(withPassword(await as.token(OPAQUE_RESOURCE)))).toEqual({
      outcome: 'ignore',
    });
  });

  it('refuses a token with a malformed mqtt scope rather than guessing', async () => {
    const token = as.forge({ typ: 'at+jwt' }, { ...claims(), scope: 'mqtt:publish:a/#/b' });
    expect(await oauth().authenticate(withPassword(token))).toMatchObject({
      outcome: 'deny',
      reason: 'bad-credentials',
      message: expect.stringMatching(/scope "mqtt:publish:a\/#\/b"/),
    });
  });
});

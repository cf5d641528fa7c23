import { ConfigError } from '@mqtt-warden/core';
import { createJwtAuthenticator, type JwtAuthenticatorOptions } from '@mqtt-warden/jwt';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { withPassword } from './connect-request.js';
import {
  HMAC_SECRET,
  HS256_TOKEN,
  HS256_WITH_PUBLIC_KEY_TOKEN,
  NONE_TOKEN,
  RS256_TOKEN,
  RSA_PUBLIC_PEM,
  VECTOR_NOW,
} from './vectors.js';

const base = { issuer: 'https://idp.test', audience: 'mqtt', now: () => VECTOR_NOW } as const;
const rsa = (extra: Partial<JwtAuthenticatorOptions> = {}) =>
  createJwtAuthenticator({ keys: { publicKey: RSA_PUBLIC_PEM }, ...base, ...extra });

describe('jwt authenticator with independent vectors', () => {
  it('accepts an RS256 token signed by openssl and maps its claims', async () => {
    const outcome = await rsa().authenticate(withPassword(RS256_TOKEN));
    expect(outcome).toEqual({
      outcome: 'allow',
      principal: {
        id: 'device-42',
        clientId: 'device-42',
        username: undefined,
        method: 'jwt',
        roles: ['sensor'],
        attributes: {
          'claims.sub': 'device-42',
          'claims.iss': 'https://idp.test',
          'claims.aud': 'mqtt',
          'claims.iat': '1700000000',
          'claims.exp': '1700003600',
          'claims.roles': ['sensor'],
          'claims.site': 'lyon',
        },
        superuser: false,
        expiresAt: 1_700_003_600_000,
        remoteAddress: '127.0.0.1',
        tls: true,
      },
    });
  });

  it('accepts an HS256 token computed with Python hmac', async () => {
    const jwt = createJwtAuthenticator({ keys: { secret: HMAC_SECRET }, ...base });
    const outcome = await jwt.authenticate(withPassword(HS256_TOKEN));
    expect(outcome.outcome).toBe('allow');
  });

  it('refuses alg none', async () => {
    const outcome = await rsa().authenticate(withPassword(NONE_TOKEN));
    expect(outcome).toMatchObject({
      outcome: 'deny',
      reason: 'bad-credentials',
      message: expect.stringMatching(/alg/),
    });
    const hmac = createJwtAuthenticator({ keys: { secret: HMAC_SECRET }, ...base });
    expect(await hmac.authenticate(withPassword(NONE_TOKEN))).toMatchObject({ outcome: 'deny' });
  });

  it('refuses HS256 signed with the RSA public key (algorithm confusion)', async () => {
    const outcome = await rsa().authenticate(withPassword(HS256_WITH_PUBLIC_KEY_TOKEN));
    expect(outcome).toMatchObject({
      outcome: 'deny',
      reason: 'bad-credentials',
      message: expect.stringMatching(/alg/),
    });
  });

  it('refuses to be configured with HMAC algorithms for an asymmetric key, or with none', () => {
    expect(() => rsa({ algorithms: ['RS256', 'HS256'] })).toThrow(ConfigError);
    expect(() => rsa({ algorithms: ['none'] })).toThrow(/never accepted/);
    expect(() => createJwtAuthenticator({ keys: { secret: HMAC_SECRET }, algorithms: ['RS256'] })).toThrow(
      ConfigError,
    );
    expect(() => createJwtAuthenticator({ keys: { secret: 'short' } })).toThrow(/at least 32/);
    expect(() => createJwtAuthenticator({ keys: { publicKey: { kty: 'oct', k: 'AAAA' } } })).toThrow(
      /secret/,
    );
    expect(() => createJwtAuthenticator({ keys: { publicKey: 'not a key' } })).toThrow(ConfigError);
  });

  it('refuses a tampered payload', async () => {
    const [h, p, s] = RS256_TOKEN.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    claims.roles = ['admin'];
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
    expect(await rsa().authenticate(withPassword(forged))).toMatchObject({
      outcome: 'deny',
      reason: 'bad-credentials',
      message: 'the token signature is invalid',
    });
  });

  it('refuses the vector once expired, within tolerance still accepts it', async () => {
    const at = (ms: number) => rsa({ now: () => ms }).authenticate(withPassword(RS256_TOKEN));
    expect((await at(1_700_003_600_000 + 4_000)).outcome).toBe('allow');
    expect(await at(1_700_003_600_000 + 6_000)).toMatchObject({ outcome: 'deny', reason: 'expired' });
  });

  it('refuses a wrong issuer and a wrong audience', async () => {
    expect(await rsa({ issuer: 'https://other.test' }).authenticate(withPassword(RS256_TOKEN))).toMatchObject(
      {
        outcome: 'deny',
        reason: 'bad-credentials',
        message: expect.stringMatching(/"iss"/),
      },
    );
    expect(await rsa({ audience: 'not-mqtt' }).authenticate(withPassword(RS256_TOKEN))).toMatchObject({
      outcome: 'deny',
      reason: 'bad-credentials',
      message: expect.stringMatching(/"aud"/),
    });
  });

  it('ignores credentials that are not JWTs, and absent ones', async () => {
    const jwt = rsa();
    expect(await jwt.authenticate(withPassword('hunter2'))).toEqual({ outcome: 'ignore' });
    expect(await jwt.authenticate(withPassword('a.b'))).toEqual({ outcome: 'ignore' });
    expect(await jwt.authenticate({ clientId: 'x', transport: { tls: false } })).toEqual({
      outcome: 'ignore',
    });
    const notUtf8 = { clientId: 'x', password: new Uint8Array([0xff, 0xfe]), transport: { tls: false } };
    expect(await jwt.authenticate(notUtf8)).toEqual({ outcome: 'ignore' });
  });

  it('reads the token from the username when configured', async () => {
    const jwt = rsa({ from: 'username' });
    expect(await jwt.authenticate(withPassword('ignored', { username: RS256_TOKEN }))).toMatchObject({
      outcome: 'allow',
    });
    expect(await jwt.authenticate(withPassword(RS256_TOKEN, { username: 'plain' }))).toEqual({
      outcome: 'ignore',
    });
  });

  it('denies a JWT-shaped credential that is not valid base64url JSON', async () => {
    expect(await rsa().authenticate(withPassword('eyJhbGciOiJSUzI1NiJ9.!!!.sig'))).toEqual({
      outcome: 'ignore',
    });
    expect(await rsa().authenticate(withPassword('abc.def.ghi'))).toMatchObject({
      outcome: 'deny',
      reason: 'bad-credentials',
    });
  });
});

describe('jwt authenticator claim checks', () => {
  let privateKey: CryptoKey;
  let publicJwk: JWK;
  const now = 1_800_000_000_000;
  const nowSec = now / 1000;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    publicJwk = await exportJWK(pair.publicKey);
  });

  const sign = (claims: JWTPayload, header: Record<string, unknown> = {}) =>
    new SignJWT({
      iss: 'https://idp.test',
      aud: 'mqtt',
      sub: 'device-1',
      iat: nowSec,
      exp: nowSec + 300,
      ...claims,
    })
      .setProtectedHeader({ alg: 'ES256', ...header })
      .sign(privateKey);
  const withKey = (extra: Partial<JwtAuthenticatorOptions> = {}) =>
    createJwtAuthenticator({ keys: { publicKey: publicJwk }, ...base, now: () => now, ...extra });

  it('refuses a token that is not valid yet (nbf in the future beyond tolerance)', async () => {
    const token = await sign({ nbf: nowSec + 60 });
    expect(await withKey().authenticate(withPassword(token))).toMatchObject({
      outcome: 'deny',
      reason: 'bad-credentials',
      message: expect.stringMatching(/not valid yet/),
    });
    expect((await withKey().authenticate(withPassword(await sign({ nbf: nowSec + 3 })))).outcome).toBe(
      'allow',
    );
  });

  it('refuses an expired token', async () => {
    const token = await sign({ exp: nowSec - 60 });
    expect(await withKey().authenticate(withPassword(token))).toMatchObject({
      outcome: 'deny',
      reason: 'expired',
    });
  });

  it('requires exp unless told otherwise, and sub always', async () => {
    const noExp = await sign({ exp: undefined });
    expect(await withKey().authenticate(withPassword(noExp))).toMatchObject({
      outcome: 'deny',
      message: expect.stringMatching(/"exp"/),
    });
    expect((await withKey({ requireExpiry: false }).authenticate(withPassword(noExp))).outcome).toBe('allow');
    expect(await withKey().authenticate(withPassword(await sign({ sub: undefined })))).toMatchObject({
      outcome: 'deny',
      message: expect.stringMatching(/"sub"/),
    });
  });

  it('enforces required claims and typ', async () => {
    const token = await sign({});
    expect(await withKey({ requiredClaims: ['jti'] }).authenticate(withPassword(token))).toMatchObject({
      outcome: 'deny',
      message: expect.stringMatching(/"jti"/),
    });
    expect(await withKey({ typ: 'at+jwt' }).authenticate(withPassword(token))).toMatchObject({
      outcome: 'deny',
      message: expect.stringMatching(/"typ"/),
    });
  });

  it('refuses a token bound to another client id', async () => {
    const token = await sign({ clientid: 'device-1' });
    const bound = withKey({ bind: { claim: 'clientid', to: 'clientId' } });
    expect((await bound.authenticate(withPassword(token, { clientId: 'device-1' }))).outcome).toBe('allow');
    expect(await bound.authenticate(withPassword(token, { clientId: 'device-2' }))).toMatchObject({
      outcome: 'deny',
      reason: 'not-authorized',
      message: 'the token\'s "clientid" claim does not match the MQTT client id',
    });
  });

  it('never takes the username from CONNECT: without a username claim a chosen name is only claimed', async () => {
    const token = await sign({ preferred_username: 'alice' });
    const plain = withKey({ superuserClaim: 'admin' });
    expect(plain.provesUsername).toBe(false);
    const outcome = await plain.authenticate(withPassword(token, { username: 'admin' }));
    expect(outcome).toMatchObject({
      outcome: 'allow',
      principal: { claimedUsername: 'admin', superuser: false },
    });
    if (outcome.outcome === 'allow') expect(outcome.principal.username).toBeUndefined();
  });

  it('proves the username from a claim; the CONNECT username must match it unless "claimed"', async () => {
    const token = await sign({ preferred_username: 'alice' });
    const mapped = withKey({ usernameClaim: 'preferred_username' });
    expect(mapped.provesUsername).toBe(true);
    expect(await mapped.authenticate(withPassword(token, { username: 'alice' }))).toMatchObject({
      outcome: 'allow',
      principal: { id: 'device-1', username: 'alice' },
    });
    for (const username of ['admin', 'device-1', undefined]) {
      expect(await mapped.authenticate(withPassword(token, { username }))).toMatchObject({
        outcome: 'deny',
        reason: 'not-authorized',
      });
    }
    const claimed = withKey({ usernameClaim: 'preferred_username', connectUsername: 'claimed' });
    expect(claimed.provesUsername).toBe(false);
    expect(await claimed.authenticate(withPassword(token, { username: 'admin' }))).toMatchObject({
      outcome: 'allow',
      principal: { username: 'alice', claimedUsername: 'admin' },
    });
    // A token without the configured claim proves no username: refused, never the CONNECT one.
    const bare = await sign({});
    expect(await claimed.authenticate(withPassword(bare, { username: 'admin' }))).toMatchObject({
      outcome: 'deny',
      reason: 'bad-credentials',
    });
    expect(() => withKey({ connectUsername: 'must-match' })).toThrow(/set usernameClaim/);
  });

  it('a token carried in the username is neither matched nor kept as a claimed name', async () => {
    const token = await sign({ preferred_username: 'alice' });
    const jwt = withKey({ from: 'username', usernameClaim: 'preferred_username' });
    expect(jwt.provesUsername).toBe(false);
    const outcome = await jwt.authenticate({ ...withPassword('x'), username: token });
    expect(outcome).toMatchObject({ outcome: 'allow', principal: { username: 'alice' } });
    expect(JSON.stringify(outcome)).not.toContain(token);
    expect(() => withKey({ from: 'username', connectUsername: 'must-match' })).toThrow(ConfigError);
  });

  it('maps roles, groups, superuser, nested claims and the ACL claim', async () => {
    const token = await sign({
      realm_access: { roles: ['reader', 'writer'] },
      groups: 'ops field',
      admin: '1',
      tags: [1, 'a', true],
      nested: { x: 1 },
      acl: { pub: ['devices/${clientid}/up'] },
    });
    const outcome = await withKey({
      rolesClaim: ['realm_access', 'roles'],
      superuserClaim: 'admin',
    }).authenticate(withPassword(token));
    if (outcome.outcome !== 'allow') throw new Error(JSON.stringify(outcome));
    const p = outcome.principal;
    expect(p.roles).toEqual(['reader', 'writer']);
    expect(p.groups).toEqual(['ops', 'field']);
    expect(p.superuser).toBe(true);
    expect(p.attributes['claims.tags']).toEqual(['1', 'a', 'true']);
    expect(p.attributes['claims.nested']).toBeUndefined();
    expect(p.expiresAt).toBe((nowSec + 300) * 1000);
    expect(p.rules).toEqual([{ effect: 'allow', actions: ['publish'], topics: ['devices/${clientid}/up'] }]);
  });

  it('never makes a superuser unless a superuser claim is configured', async () => {
    const token = await sign({ is_superuser: true });
    const outcome = await withKey().authenticate(withPassword(token));
    expect(outcome).toMatchObject({ outcome: 'allow', principal: { superuser: false } });
  });

  it('accepts the ACL rules EMQX accepts: eq topics (exact) and empty topic lists', async () => {
    const token = await sign({
      acl: [
        { permission: 'allow', action: 'subscribe', topic: 'eq t/#' },
        { permission: 'deny', action: 'publish', topic: 'eq devices/${clientid}/cmd' },
        { permission: 'allow', action: 'all', topics: [] },
      ],
    });
    const outcome = await withKey().authenticate(withPassword(token));
    expect(outcome).toMatchObject({
      outcome: 'allow',
      principal: {
        rules: [
          { effect: 'allow', actions: ['subscribe'], topics: [{ eq: 't/#' }] },
          { effect: 'allow', actions: ['receive'], topics: ['t/#'] },
          { effect: 'deny', actions: ['publish'], topics: [{ eq: 'devices/${clientid}/cmd' }] },
        ],
      },
    });
  });

  it('leaves out an allow it cannot express and warns through the logger', async () => {
    const warnings: [object, string | undefined][] = [];
    const logger = { warn: (obj: object, msg?: string) => warnings.push([obj, msg]) };
    const token = await sign({ acl: [{ permission: 'allow', action: 'publish', topic: 'a/${zone}' }] });
    const outcome = await withKey({ logger }).authenticate(withPassword(token));
    expect(outcome).toMatchObject({ outcome: 'allow', principal: { rules: [] } });
    expect(warnings).toEqual([
      [
        { clientId: 'device-42', sub: 'device-1' },
        expect.stringMatching(/ACL rule #0: topic "a\/\$\{zone\}".*left out/),
      ],
    ]);
  });

  it('refuses a token whose ACL deny cannot be expressed (fail closed)', async () => {
    const token = await sign({ acl: [{ permission: 'deny', action: 'publish', topic: 'a/${zone}' }] });
    expect(await withKey().authenticate(withPassword(token))).toMatchObject({
      outcome: 'deny',
      reason: 'bad-credentials',
      message: expect.stringMatching(/refuses the token/),
    });
  });

  it('refuses roles that are not strings', async () => {
    const token = await sign({ roles: [{ name: 'x' }] });
    expect(await withKey().authenticate(withPassword(token))).toMatchObject({ outcome: 'deny' });
  });
});

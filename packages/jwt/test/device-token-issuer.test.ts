import {
  type Authenticator,
  type Authorizer,
  type ConnectRequest,
  createGuard,
  InvalidInputError,
  type Principal,
} from '@mqtt-warden/core';
import { createDeviceTokenIssuer, createJwtAuthenticator } from '@mqtt-warden/jwt';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';

// A stand-in for the password package: one device with one password.
const passwords: Authenticator = {
  name: 'password',
  authenticate(request) {
    if (request.username !== 'sensor-7') return { outcome: 'ignore' };
    if (new TextDecoder().decode(request.password) !== 'correct horse') {
      return { outcome: 'deny', reason: 'bad-credentials' };
    }
    const principal: Principal = {
      id: 'sensor-7',
      clientId: request.clientId,
      username: request.username,
      method: 'password',
      roles: ['sensor'],
      attributes: {},
    };
    return { outcome: 'allow', principal };
  },
};

// An authorizer that lets role `sensor` publish to its own telemetry topic only.
const authorizer: Authorizer = {
  authorize(principal, request) {
    const allowed =
      principal.roles.includes('sensor') &&
      request.action === 'publish' &&
      request.topic === `telemetry/${principal.clientId}`;
    return { allowed, reason: allowed ? 'rule' : 'default' };
  },
};

const connect = (password: string, clientId = 'sensor-7-c', username = 'sensor-7'): ConnectRequest => ({
  clientId,
  username,
  password: new TextEncoder().encode(password),
  transport: { tls: true },
});

describe('device token issuer', () => {
  it('exchanges a password login for a short-lived ES256 token that then authenticates through the guard', async () => {
    let clock = 1_900_000_000_000;
    const now = () => clock;
    const issuer = await createDeviceTokenIssuer({ issuer: 'https://mqtt.test', ttlSeconds: 300, now });
    const tokens = createJwtAuthenticator({
      name: 'device-token',
      keys: { jwks: () => issuer.jwks() },
      issuer: 'https://mqtt.test',
      audience: 'mqtt',
      bind: { claim: 'clientid', to: 'clientId' },
      now,
    });
    const guard = createGuard({ authenticators: [tokens, passwords], authorizer, now });

    const login = await guard.authenticate(connect('correct horse'));
    if (!login.ok) throw new Error(login.message);
    expect(login.authenticator).toBe('password');

    const response = await issuer.issue(login.principal);
    expect(response).toMatchObject({ expiresIn: 300, tokenType: 'Bearer' });
    expect(decodeProtectedHeader(response.token)).toMatchObject({ alg: 'ES256', typ: 'JWT' });
    expect(decodeJwt(response.token)).toMatchObject({
      sub: 'sensor-7',
      clientid: 'sensor-7-c',
      username: 'sensor-7',
      roles: ['sensor'],
      amr: ['password'],
      iss: 'https://mqtt.test',
      aud: 'mqtt',
      exp: 1_900_000_300,
    });

    const reconnect = await guard.authenticate(connect(response.token));
    if (!reconnect.ok) throw new Error(reconnect.message);
    expect(reconnect.authenticator).toBe('device-token');
    expect(reconnect.principal).toMatchObject({
      id: 'sensor-7',
      roles: ['sensor'],
      expiresAt: 1_900_000_300_000,
    });
    expect(
      guard.authorize(reconnect.principal, { action: 'publish', topic: 'telemetry/sensor-7-c' }).allowed,
    ).toBe(true);

    // The token is useless under another client id, and after it expires.
    expect(await guard.authenticate(connect(response.token, 'sensor-8-c'))).toMatchObject({
      ok: false,
      reason: 'not-authorized',
    });
    clock += 306_000;
    expect(await guard.authenticate(connect(response.token))).toMatchObject({ ok: false, reason: 'expired' });
    // A wrong password still gets nothing.
    expect(await guard.authenticate(connect('wrong'))).toMatchObject({
      ok: false,
      reason: 'bad-credentials',
    });
  });

  it('rotates keys with an overlap: old tokens verify until they expire, then the old key leaves the JWKS', async () => {
    let clock = 1_900_000_000_000;
    const now = () => clock;
    const issuer = await createDeviceTokenIssuer({
      issuer: 'https://mqtt.test',
      ttlSeconds: 60,
      overlapSeconds: 10,
      now,
    });
    const jwt = createJwtAuthenticator({
      keys: { jwks: () => issuer.jwks() },
      issuer: 'https://mqtt.test',
      now,
    });
    const device: Principal = { id: 'd', clientId: 'd', method: 'x509', roles: [], attributes: {} };
    const request = (token: string) => ({
      clientId: 'd',
      password: new TextEncoder().encode(token),
      transport: { tls: true },
    });

    const old = await issuer.issue(device);
    const oldKid = decodeProtectedHeader(old.token).kid;
    await issuer.rotate();
    const fresh = await issuer.issue(device);
    expect(decodeProtectedHeader(fresh.token).kid).not.toBe(oldKid);
    expect(issuer.jwks().keys.map((k) => k.kid)).toEqual([decodeProtectedHeader(fresh.token).kid, oldKid]);
    expect((await jwt.authenticate(request(old.token))).outcome).toBe('allow');
    expect((await jwt.authenticate(request(fresh.token))).outcome).toBe('allow');

    clock += 71_000; // past ttl + overlap: the retired key is withdrawn
    expect(issuer.jwks().keys).toHaveLength(1);
    const refreshed = await issuer.issue(device);
    expect((await jwt.authenticate(request(refreshed.token))).outcome).toBe('allow');
    // Even with a clock that still accepts its exp, a token of the withdrawn key no longer verifies.
    const lenient = createJwtAuthenticator({
      keys: { jwks: () => issuer.jwks() },
      requireExpiry: true,
      clockToleranceSeconds: 3600,
      now,
    });
    expect(await lenient.authenticate(request(old.token))).toMatchObject({
      outcome: 'deny',
      reason: 'bad-credentials',
    });
  });

  it('rotates by itself after rotateAfterSeconds, never outlives the principal, and refuses an expired one', async () => {
    let clock = 1_900_000_000_000;
    const issuer = await createDeviceTokenIssuer({
      issuer: 'i',
      ttlSeconds: 600,
      rotateAfterSeconds: 3600,
      now: () => clock,
    });
    const device: Principal = { id: 'd', clientId: 'd', method: 'psk', roles: [], attributes: {} };
    const first = decodeProtectedHeader((await issuer.issue(device)).token).kid;
    clock += 3_600_000;
    const second = decodeProtectedHeader((await issuer.issue(device)).token).kid;
    expect(second).not.toBe(first);

    const short = await issuer.issue({ ...device, expiresAt: clock + 30_000 });
    expect(short.expiresIn).toBe(30);
    expect(decodeJwt(short.token).exp).toBe((clock + 30_000) / 1000);
    await expect(issuer.issue({ ...device, expiresAt: clock - 1 })).rejects.toThrow(InvalidInputError);
  });

  it('does not carry superuser status into the token', async () => {
    const issuer = await createDeviceTokenIssuer({ issuer: 'i' });
    const { token } = await issuer.issue({
      id: 'root',
      clientId: 'c',
      method: 'password',
      roles: [],
      attributes: {},
      superuser: true,
    });
    expect(decodeJwt(token)).not.toHaveProperty('is_superuser');
    expect(decodeJwt(token)).not.toHaveProperty('superuser');
  });
});

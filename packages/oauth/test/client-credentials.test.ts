import { UnavailableError } from '@mqtt-warden/core';
import { createClientCredentials, TokenRequestError } from '@mqtt-warden/oauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthorizationServer, CLIENTS, JWT_RESOURCE } from './authorization-server.js';

describe('client credentials (device side) against oidc-provider', () => {
  const as = new AuthorizationServer(120);
  beforeAll(() => as.start());
  afterAll(() => as.stop());

  it('gets a token with client_secret_basic (a secret with reserved characters) and caches it', async () => {
    let clock = Date.now();
    const credentials = createClientCredentials({
      tokenEndpoint: as.tokenEndpoint,
      clientId: CLIENTS.basic.id,
      clientSecret: CLIENTS.basic.secret,
      scope: 'mqtt:publish:sensors/${clientid}/temp',
      resource: JWT_RESOURCE,
      refreshBeforeMs: 30_000,
      now: () => clock,
    });
    const first = await credentials.getToken();
    expect(first.value.split('.')).toHaveLength(3);
    expect(first.scope).toBe('mqtt:publish:sensors/${clientid}/temp');
    expect(first.expiresAt).toBe(clock + 120_000);
    expect(await credentials.getToken()).toBe(first);
    clock += 91_000; // within refreshBeforeMs of expiry: a new token
    const second = await credentials.getToken();
    expect(second.value).not.toBe(first.value);
    credentials.invalidate();
    expect((await credentials.getToken()).value).not.toBe(second.value);
  });

  it('gets a token with client_secret_post', async () => {
    const credentials = createClientCredentials({
      tokenEndpoint: as.tokenEndpoint,
      clientId: CLIENTS.post.id,
      clientSecret: CLIENTS.post.secret,
      clientAuth: 'client_secret_post',
      scope: 'fleet',
    });
    expect((await credentials.getToken()).value.length).toBeGreaterThan(20);
  });

  it('reports the server error code, without echoing the secret', async () => {
    const credentials = createClientCredentials({
      tokenEndpoint: as.tokenEndpoint,
      clientId: CLIENTS.basic.id,
      clientSecret: 'wrong-secret-value',
    });
    const error = await credentials.getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenRequestError);
    expect((error as TokenRequestError).oauthError).toBe('invalid_client');
    expect((error as Error).message).not.toContain('wrong-secret-value');
  });

  it('reports an unreachable endpoint as unavailable', async () => {
    const credentials = createClientCredentials({
      tokenEndpoint: 'http://127.0.0.1:1/token',
      clientId: 'a',
      clientSecret: 'b',
    });
    await expect(credentials.getToken()).rejects.toThrow(UnavailableError);
  });
});

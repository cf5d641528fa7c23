import type { ConnectRequest } from '@mqtt-warden/core';
import { describe, expect, it } from 'vitest';
import { createPskAuthenticator } from '../src/index.js';

const connect = (more: Partial<ConnectRequest> = {}): ConnectRequest => ({
  clientId: 'dev-1',
  username: 'admin',
  transport: { tls: true, pskIdentity: 'dev-1' },
  ...more,
});

describe('createPskAuthenticator identity', () => {
  it('never takes the username from CONNECT: without a mapping a chosen "admin" is only claimed', async () => {
    const psk = createPskAuthenticator();
    expect(psk.provesUsername).toBe(false);
    const outcome = await psk.authenticate(connect());
    expect(outcome).toMatchObject({ outcome: 'allow', principal: { id: 'dev-1', claimedUsername: 'admin' } });
    if (outcome.outcome === 'allow') expect(outcome.principal.username).toBeUndefined();
  });

  it('proves the identity as username; the CONNECT username must match unless "claimed"', async () => {
    const psk = createPskAuthenticator({ useIdentityAsUsername: true });
    expect(psk.provesUsername).toBe(true);
    expect(await psk.authenticate(connect())).toMatchObject({ outcome: 'deny', reason: 'not-authorized' });
    expect(await psk.authenticate(connect({ username: 'dev-1' }))).toMatchObject({
      outcome: 'allow',
      principal: { username: 'dev-1' },
    });
    const claimed = createPskAuthenticator({ useIdentityAsUsername: true, connectUsername: 'claimed' });
    expect(claimed.provesUsername).toBe(false);
    expect(await claimed.authenticate(connect())).toMatchObject({
      outcome: 'allow',
      principal: { username: 'dev-1', claimedUsername: 'admin' },
    });
    expect(() => createPskAuthenticator({ connectUsername: 'must-match' })).toThrow(/useIdentityAsUsername/);
  });
});

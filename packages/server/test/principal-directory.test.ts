import type { ConnectRequest, Principal } from '@mqtt-warden/core';
import { createMemoryStore } from '@mqtt-warden/password';
import type { SessionRecord } from '@mqtt-warden/registry';
import { describe, expect, it } from 'vitest';
import {
  PrincipalDirectory,
  type PrincipalDirectoryOptions,
  type SharedSessions,
} from '../src/principal-directory.js';
import { REGISTRY_DEVICE_ATTRIBUTE } from '../src/registry-credentials.js';
import { SessionTickets } from '../src/session-tickets.js';

// Any valid stored hash: the directory never verifies passwords.
const HASH =
  '$argon2id$v=19$m=19456,p=1,t=2$dXyS8uOq4IIatNqwTnCYAw$JeLSqAlZMt2lXPq4CF8Igol1PlMdou4OSpjWArSaInw';
const KEY = Buffer.alloc(32, 7);

const connect = (username: string | undefined, clientId: string): ConnectRequest => ({
  username,
  clientId,
  transport: { tls: false },
});

/** A token principal that proved `sub` but kept the CONNECT username the client chose. */
const tokenPrincipal = (sub: string, clientId: string, extra: Partial<Principal> = {}): Principal => ({
  id: sub,
  clientId,
  claimedUsername: 'admin',
  method: 'jwt',
  roles: ['device'],
  attributes: {},
  ...extra,
});

function setup(options: Partial<PrincipalDirectoryOptions> = {}) {
  let now = 1_000_000;
  const store = createMemoryStore([
    { username: 'admin', hash: HASH, superuser: true },
    { username: 'demo', hash: HASH, roles: ['device'] },
  ]);
  const clock = {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
  const tickets = new SessionTickets({ key: KEY, now: clock.now });
  const directory = new PrincipalDirectory({
    store,
    storeAuthenticator: 'password',
    tickets,
    now: clock.now,
    ...options,
  });
  return { directory, store, clock, tickets };
}

describe('PrincipalDirectory: the session that authenticated, never a name', () => {
  it('answers the remembered principal for its CONNECT username and client id only', async () => {
    const { directory } = setup();
    const principal = tokenPrincipal('sub-1', 'c1');
    directory.remember(connect('admin', 'c1'), principal, 'jwt');
    expect(await directory.resolve({ username: 'admin', clientId: 'c1' })).toBe(principal);
    expect(await directory.resolve({ username: 'admin', clientId: 'c2' })).toBeUndefined();
    expect(await directory.resolve({ username: 'other', clientId: 'c1' })).toBeUndefined();
    directory.clear();
    expect(await directory.resolve({ username: 'admin', clientId: 'c1' })).toBeUndefined();
  });

  it('never answers a session for another split of the same characters between username and client id', async () => {
    const { directory } = setup();
    const principal = tokenPrincipal('sub-1', 'bc');
    directory.remember(connect('a', 'bc'), principal, 'jwt');
    const noName = tokenPrincipal('sub-2', '1:abc');
    directory.remember(connect(undefined, '1:abc'), noName, 'jwt');
    expect(directory.resolve({ username: 'a', clientId: 'bc' })).toBe(principal);
    for (const [username, clientId] of [
      ['ab', 'c'],
      ['abc', ''],
      ['', 'abc'],
      ['1:a', 'bc'],
      [undefined, 'abc'],
      [undefined, '1:abc1:abc'],
      ['1', 'abc'],
    ] as const) {
      expect(await directory.resolve({ username, clientId })).toBeUndefined();
    }
    expect(directory.resolve({ username: undefined, clientId: '1:abc' })).toBe(noName);
    expect(await directory.resolve({ username: '-', clientId: '1:abc' })).toBeUndefined();
  });

  it('never builds a principal from the store entry of a name it does not remember, unless every authenticator proves usernames', async () => {
    const { directory } = setup();
    // A token user that connected as "admin", after a restart or an eviction: not admin's entry.
    expect(await directory.resolve({ username: 'admin', clientId: 'c1' })).toBeUndefined();
    expect(await directory.resolve({ username: 'admin' })).toBeUndefined();

    const proven = setup({ provesUsernames: true }).directory;
    const built = await proven.resolve({ username: 'demo', clientId: 'd1', remoteAddress: '10.0.0.1' });
    expect(built).toMatchObject({ id: 'demo', username: 'demo', clientId: 'd1', roles: ['device'] });
    expect(built?.remoteAddress).toBe('10.0.0.1');
    // Remembered from then on: downstream caches find the same object.
    expect(await proven.resolve({ username: 'demo', clientId: 'd1' })).toBe(built);
    expect(await proven.resolve({ username: 'nobody', clientId: 'd1' })).toBeUndefined();
    expect(await proven.resolve({ username: 'admin' })).toMatchObject({ superuser: true, clientId: '' });
  });

  it('keeps a store user’s session in step with the store: new roles apply, a removed or disabled user is refused; other sessions stay', async () => {
    const { directory, store } = setup();
    directory.remember(
      connect('demo', 'd1'),
      { id: 'demo', username: 'demo', clientId: 'd1', method: 'password', roles: ['device'], attributes: {} },
      'password',
    );
    const token = tokenPrincipal('sub-1', 'c1');
    directory.remember(connect('admin', 'c1'), token, 'jwt');
    store.set({ username: 'demo', hash: HASH, roles: ['operator'] });
    expect(await directory.resolve({ username: 'demo', clientId: 'd1' })).toMatchObject({
      roles: ['operator'],
      clientId: 'd1',
    });
    store.set({ username: 'demo', hash: HASH, roles: ['operator'], disabled: true });
    expect(await directory.resolve({ username: 'demo', clientId: 'd1' })).toBeUndefined();
    store.delete('demo');
    expect(await directory.resolve({ username: 'demo', clientId: 'd1' })).toBeUndefined();
    // A users-file change does not log out token sessions.
    expect(await directory.resolve({ username: 'admin', clientId: 'c1' })).toBe(token);
  });

  it('answers a username without client id (go-auth superuser) only when all its sessions hold one identity', async () => {
    const { directory } = setup();
    const admin: Principal = {
      id: 'admin',
      username: 'admin',
      clientId: 'a1',
      method: 'password',
      roles: [],
      attributes: {},
      superuser: true,
    };
    directory.remember(connect('admin', 'a1'), admin, 'password');
    directory.remember(connect('admin', 'a2'), { ...admin, clientId: 'a2' }, 'password');
    expect(await directory.resolve({ username: 'admin' })).toMatchObject({ superuser: true, clientId: '' });
    // A token user calling itself "admin" makes the name ambiguous: no superuser by name.
    directory.remember(connect('admin', 'c1'), tokenPrincipal('sub-1', 'c1'), 'jwt');
    expect(await directory.resolve({ username: 'admin' })).toBeUndefined();
    // Each session still resolves as itself.
    expect(await directory.resolve({ username: 'admin', clientId: 'a1' })).toMatchObject({ superuser: true });
    expect(await directory.resolve({ username: 'admin', clientId: 'c1' })).toMatchObject({ id: 'sub-1' });
    expect((await directory.resolve({ username: 'admin', clientId: 'c1' }))?.superuser).toBeUndefined();
    // Alone, the token user is answered as itself.
    const alone = setup().directory;
    alone.remember(connect('admin', 'c1'), tokenPrincipal('sub-1', 'c1'), 'jwt');
    expect(await alone.resolve({ username: 'admin' })).toMatchObject({ id: 'sub-1', method: 'jwt' });
  });
});

describe('PrincipalDirectory: session tickets', () => {
  async function ticketFor(directory: PrincipalDirectory, request: ConnectRequest, principal: Principal) {
    directory.remember(request, principal, principal.method);
    const attributes = directory.attributesFor(request, principal);
    expect(attributes).toEqual({ warden_session: expect.any(String) });
    return attributes!.warden_session!;
  }

  it('rebuilds a forgotten session from the ticket the broker carries, exactly as it logged in', async () => {
    const { directory, clock } = setup();
    const principal = tokenPrincipal('sub-1', 'c1', {
      expiresAt: clock.now() + 60_000,
      rules: [{ effect: 'allow', actions: ['publish'], topics: ['t/${clientid}'] }],
      attributes: { 'claims.site': 'north' },
    });
    const ticket = await ticketFor(directory, connect('admin', 'c1'), principal);
    directory.clear(); // a restart, an eviction, another replica
    const rebuilt = await directory.resolve({
      username: 'admin',
      clientId: 'c1',
      attributes: { warden_session: ticket },
    });
    expect(rebuilt).toEqual(principal);
    // and remembered again
    expect(await directory.resolve({ username: 'admin', clientId: 'c1' })).toBe(rebuilt);
  });

  it('refuses tampered, foreign, expired and other sessions’ tickets', async () => {
    const { directory, clock } = setup();
    const principal = tokenPrincipal('sub-1', 'c1', { expiresAt: clock.now() + 60_000 });
    const ticket = await ticketFor(directory, connect('admin', 'c1'), principal);
    directory.clear();
    const ask = (t: string, clientId = 'c1', username = 'admin') =>
      directory.resolve({ username, clientId, attributes: { warden_session: t } });

    const [v, payload, mac] = ticket.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    claims.p.superuser = true;
    const forged = `${v}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${mac}`;
    expect(await ask(forged)).toBeUndefined();
    expect(await ask(`${ticket.slice(0, -1)}${ticket.endsWith('A') ? 'B' : 'A'}`)).toBeUndefined();
    expect(await ask('')).toBeUndefined();
    expect(await ask(`${ticket}.x`)).toBeUndefined();
    // Another client's session, or the same client under another username.
    expect(await ask(ticket, 'c2')).toBeUndefined();
    expect(await ask(ticket, 'c1', 'demo')).toBeUndefined();
    // Signed by another server's key.
    const foreign = new PrincipalDirectory({
      tickets: new SessionTickets({ key: Buffer.alloc(32, 8), now: clock.now }),
      now: clock.now,
    });
    foreign.remember(connect('admin', 'c1'), principal, 'jwt');
    expect(
      await ask(foreign.attributesFor(connect('admin', 'c1'), principal)!.warden_session!),
    ).toBeUndefined();
    // Past the credential's expiry.
    clock.advance(60_000);
    expect(await ask(ticket)).toBeUndefined();
  });

  it('rebuilds a store user from its current entry, so a removed user’s ticket is refused', async () => {
    const { directory, store } = setup();
    const request = connect('demo', 'd1');
    const principal: Principal = {
      id: 'demo',
      username: 'demo',
      clientId: 'd1',
      method: 'password',
      roles: ['device'],
      attributes: {},
    };
    const ticket = await ticketFor(directory, request, principal);
    directory.clear();
    store.set({ username: 'demo', hash: HASH, roles: ['operator'] });
    expect(
      await directory.resolve({ username: 'demo', clientId: 'd1', attributes: { warden_session: ticket } }),
    ).toMatchObject({ roles: ['operator'] });
    directory.clear();
    store.delete('demo');
    expect(
      await directory.resolve({ username: 'demo', clientId: 'd1', attributes: { warden_session: ticket } }),
    ).toBeUndefined();
  });
});

describe('PrincipalDirectory: expiry and bounds', () => {
  it('forgets a session unused for ttlMs, keeps one that is used (sliding), never past the principal’s expiresAt', async () => {
    const { directory, clock } = setup({ ttlMs: 10_000, tickets: undefined });
    directory.remember(connect('idle', 'c'), tokenPrincipal('idle', 'c'), 'jwt');
    directory.remember(connect('busy', 'c'), tokenPrincipal('busy', 'c'), 'jwt');
    directory.remember(
      connect('token', 'c'),
      tokenPrincipal('token', 'c', { expiresAt: clock.now() + 25_000 }),
      'jwt',
    );
    for (let i = 0; i < 4; i++) {
      clock.advance(6_000);
      expect(await directory.resolve({ username: 'busy', clientId: 'c' })).toMatchObject({ id: 'busy' });
      expect(await directory.resolve({ username: 'token', clientId: 'c' })).toMatchObject({ id: 'token' });
    }
    // 24 s later: the busy session lives on, the idle one is gone.
    expect(await directory.resolve({ username: 'idle', clientId: 'c' })).toBeUndefined();
    clock.advance(1_000);
    // 25 s: used all along, but its credential has expired.
    expect(await directory.resolve({ username: 'busy', clientId: 'c' })).toMatchObject({ id: 'busy' });
    expect(await directory.resolve({ username: 'token', clientId: 'c' })).toBeUndefined();
    // An already expired principal is not remembered at all, nor left to an earlier session.
    directory.remember(connect('busy', 'c'), tokenPrincipal('late', 'c', { expiresAt: clock.now() }), 'jwt');
    expect(await directory.resolve({ username: 'busy', clientId: 'c' })).toBeUndefined();
    expect(directory.stats().sessions).toBe(0);
  });

  it('on the system clock (read coarsely, at most 100 ms behind), still forgets an unused session after ttlMs', async () => {
    const directory = new PrincipalDirectory({ ttlMs: 150 });
    directory.remember(connect('idle', 'c'), tokenPrincipal('idle', 'c'), 'jwt');
    directory.remember(connect('busy', 'c'), tokenPrincipal('busy', 'c'), 'jwt');
    for (let waited = 0; waited < 400; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await directory.resolve({ username: 'busy', clientId: 'c' })).toMatchObject({ id: 'busy' });
    }
    // 400 ms unused, past the TTL and the clock's lag, however late the timers ran.
    expect(await directory.resolve({ username: 'idle', clientId: 'c' })).toBeUndefined();
  });

  it('stays within maxBytes, evicting the least recently used sessions, and keeps name lookups consistent', async () => {
    const maxBytes = 200_000;
    const { directory } = setup({ maxBytes, tickets: undefined });
    const big = 'x'.repeat(2_000);
    for (let i = 0; i < 500; i++) {
      directory.remember(
        connect('admin', `c${i}`),
        tokenPrincipal(`sub-${i}`, `c${i}`, { attributes: { 'claims.blob': big } }),
        'jwt',
      );
    }
    const { sessions, bytes } = directory.stats();
    expect(bytes).toBeLessThanOrEqual(maxBytes);
    expect(bytes).toBeGreaterThan(maxBytes / 2);
    expect(sessions).toBeLessThan(500);
    expect(await directory.resolve({ username: 'admin', clientId: 'c0' })).toBeUndefined();
    expect(await directory.resolve({ username: 'admin', clientId: 'c499' })).toMatchObject({ id: 'sub-499' });
    // Many identities share the name: ambiguous. Once only one is left, it is answered.
    expect(await directory.resolve({ username: 'admin' })).toBeUndefined();
    directory.clear();
    expect(directory.stats()).toEqual({ sessions: 0, bytes: 0 });
    directory.remember(connect('admin', 'z'), tokenPrincipal('sub-z', 'z'), 'jwt');
    expect(await directory.resolve({ username: 'admin' })).toMatchObject({ id: 'sub-z' });
    // One session larger than the whole bound is not remembered, and an earlier one under the same
    // names does not answer for it.
    directory.remember(connect('huge', 'h'), tokenPrincipal('earlier', 'h'), 'jwt');
    directory.remember(
      connect('huge', 'h'),
      tokenPrincipal('huge', 'h', { attributes: { blob: 'x'.repeat(maxBytes) } }),
      'jwt',
    );
    expect(await directory.resolve({ username: 'huge', clientId: 'h' })).toBeUndefined();
    expect(await directory.resolve({ username: 'huge' })).toBeUndefined();
  });
});

describe('PrincipalDirectory: shared sessions written once per proof', () => {
  function shared() {
    const records = new Map<string, SessionRecord>();
    const puts: SessionRecord[] = [];
    const sharedSessions: SharedSessions = {
      store: {
        putSession: async (record) => {
          puts.push(record);
          records.set(`${record.username}\0${record.clientId}`, record);
        },
        getSession: async (username, clientId) => records.get(`${username}\0${clientId}`),
        deleteSession: async (username, clientId) => {
          records.delete(`${username}\0${clientId}`);
        },
      },
      revalidate: async (record) => record.principal,
    };
    return { sharedSessions, puts };
  }

  it('does not rewrite an identical session until half its lifetime is gone, and rewrites a changed one at once', async () => {
    const { sharedSessions, puts } = shared();
    const { directory, clock } = setup({ shared: sharedSessions, ttlMs: 10_000 });
    const principal = tokenPrincipal('sub-1', 'c1');
    await directory.remember(connect('u', 'c1'), principal, 'jwt');
    await directory.remember(connect('u', 'c1'), { ...principal }, 'jwt');
    expect(puts).toHaveLength(1);
    clock.advance(4_000);
    await directory.remember(connect('u', 'c1'), principal, 'jwt');
    expect(puts).toHaveLength(1);
    // 4 s of 10 left: written again, with a fresh expiry.
    clock.advance(2_000);
    await directory.remember(connect('u', 'c1'), principal, 'jwt');
    expect(puts).toHaveLength(2);
    expect(puts[1]?.expiresAt.getTime()).toBe(clock.now() + 10_000);
    // Another role, address, authenticator or client id is another record.
    await directory.remember(connect('u', 'c1'), { ...principal, roles: ['admin'] }, 'jwt');
    await directory.remember(
      connect('u', 'c1'),
      { ...principal, roles: ['admin'], remoteAddress: '10.0.0.9' },
      'jwt',
    );
    await directory.remember(
      connect('u', 'c1'),
      { ...principal, roles: ['admin'], remoteAddress: '10.0.0.9' },
      'x509',
    );
    await directory.remember(connect('u', 'c2'), { ...principal, clientId: 'c2' }, 'jwt');
    expect(puts.map((p) => [p.clientId, p.authenticator, p.principal.roles[0]])).toEqual([
      ['c1', 'jwt', 'device'],
      ['c1', 'jwt', 'device'],
      ['c1', 'jwt', 'admin'],
      ['c1', 'jwt', 'admin'],
      ['c1', 'x509', 'admin'],
      ['c2', 'jwt', 'device'],
    ]);
  });

  it('writes again after the session was forgotten here (device change, resync, store change)', async () => {
    const { sharedSessions, puts } = shared();
    const { directory, store } = setup({ shared: sharedSessions });
    const principal = tokenPrincipal('sub-1', 'c1', { attributes: { [REGISTRY_DEVICE_ATTRIBUTE]: 'dev-1' } });
    await directory.remember(connect('u', 'c1'), principal, 'jwt');
    directory.forgetDevice('dev-1');
    await directory.remember(connect('u', 'c1'), principal, 'jwt');
    directory.clear();
    await directory.remember(connect('u', 'c1'), principal, 'jwt');
    store.set({ username: 'someone', hash: HASH });
    await directory.remember(connect('u', 'c1'), principal, 'jwt');
    await directory.remember(connect('u', 'c1'), principal, 'jwt');
    expect(puts).toHaveLength(4);
  });
});

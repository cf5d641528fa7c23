import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { type ConnectRequest, createGuard } from '@mqtt-warden/core';
import { LRUCache } from 'lru-cache';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type CredentialStore,
  createMemoryStore,
  createPasswordAuthenticator,
  hashPassword,
  type StoredHash,
  type UserEntry,
  verifyPassword,
} from '../src/index.js';
import * as v from './vectors.js';

const CHEAP = { memoryCost: 256, timeCost: 1 };
const SECRET = 'violet kettle runs uphill';

function connect(username: string | undefined, password: string | Uint8Array | undefined): ConnectRequest {
  return {
    clientId: 'client-1',
    username,
    password: typeof password === 'string' ? new TextEncoder().encode(password) : password,
    transport: { tls: true, remoteAddress: '10.0.0.7' },
  };
}

/** `$7$` (PBKDF2-SHA512) with enough iterations that its cost stands out from noise. */
function slowHash(password: string, iterations = 100_000): string {
  const salt = randomBytes(12);
  const hash = pbkdf2Sync(password, salt, iterations, 64, 'sha512');
  return `$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await fn();
  return [result, performance.now() - start];
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('createPasswordAuthenticator', () => {
  it('proves the username: the principal is the entry the password matched, never another spelling', async () => {
    const entry = { username: 'Admin', hash: await hashPassword(SECRET, CHEAP), superuser: true };
    // A store that looks names up case-insensitively must not make "admin" the entry "Admin".
    const store: CredentialStore = {
      get: (username) => (username.toLowerCase() === 'admin' ? entry : undefined),
      entries: () => [entry],
      onChange: () => () => {},
    };
    const auth = createPasswordAuthenticator({ store, cache: false });
    expect(auth.provesUsername).toBe(true);
    expect(await auth.authenticate(connect('admin', SECRET))).toMatchObject({ outcome: 'deny' });
    expect(await auth.authenticate(connect('Admin', SECRET))).toMatchObject({
      outcome: 'allow',
      principal: { username: 'Admin', superuser: true },
    });
  });

  it('allows with a principal built from the store entry', async () => {
    const store = createMemoryStore([
      {
        username: 'sensor-1',
        hash: await hashPassword(SECRET, CHEAP),
        roles: ['device'],
        groups: ['berlin'],
        attributes: { site: 'berlin' },
      },
      { username: 'ops', hash: v.BCRYPT_2B, superuser: true },
    ]);
    const auth = createPasswordAuthenticator({ store });
    expect(auth.name).toBe('password');
    expect(await auth.authenticate(connect('sensor-1', SECRET))).toEqual({
      outcome: 'allow',
      principal: {
        id: 'sensor-1',
        clientId: 'client-1',
        username: 'sensor-1',
        method: 'password',
        roles: ['device'],
        groups: ['berlin'],
        attributes: { site: 'berlin' },
        superuser: false,
        remoteAddress: '10.0.0.7',
        tls: true,
      },
    });
    const ops = await auth.authenticate(connect('ops', v.PASSWORD));
    expect(ops.outcome === 'allow' && ops.principal.superuser).toBe(true);
  });

  it('denies a wrong password and an unknown user alike, without echoing the password', async () => {
    const store = createMemoryStore([{ username: 'a', hash: await hashPassword(SECRET, CHEAP) }]);
    const auth = createPasswordAuthenticator({ store });
    const wrong = await auth.authenticate(connect('a', 'not the secret'));
    const unknown = await auth.authenticate(connect('nobody', SECRET));
    expect(wrong).toEqual({
      outcome: 'deny',
      reason: 'bad-credentials',
      message: 'bad username or password',
    });
    expect(unknown).toEqual(wrong);
    expect(JSON.stringify([wrong, unknown])).not.toContain(SECRET);
  });

  it('ignores a CONNECT without username or password, so the next authenticator can try', async () => {
    const store = createMemoryStore([{ username: 'a', hash: v.BCRYPT_2B }]);
    const auth = createPasswordAuthenticator({ store });
    expect(await auth.authenticate(connect(undefined, SECRET))).toEqual({ outcome: 'ignore' });
    expect(await auth.authenticate(connect('', SECRET))).toEqual({ outcome: 'ignore' });
    expect(await auth.authenticate(connect('a', undefined))).toEqual({ outcome: 'ignore' });
    // A present but empty password is a password: checked and wrong.
    expect((await auth.authenticate(connect('a', ''))).outcome).toBe('deny');

    const next = {
      name: 'jwt',
      authenticate: vi.fn(() => ({ outcome: 'deny', reason: 'not-authorized' }) as const),
    };
    const guard = createGuard({
      authenticators: [auth, next],
      authorizer: { authorize: () => ({ allowed: false, reason: 'default' }) },
    });
    expect(await guard.authenticate(connect(undefined, 'a.jwt.token'))).toMatchObject({
      ok: false,
      authenticator: 'jwt',
    });
    expect(next.authenticate).toHaveBeenCalledTimes(1);
    expect(await guard.authenticate(connect('a', v.PASSWORD))).toMatchObject({
      ok: true,
      authenticator: 'password',
    });
  });

  it('unknown users: deny by default, ignore when configured', async () => {
    const store = createMemoryStore([{ username: 'a', hash: v.BCRYPT_2B }]);
    const auth = createPasswordAuthenticator({ store, unknownUser: 'ignore' });
    expect(await auth.authenticate(connect('nobody', SECRET))).toEqual({ outcome: 'ignore' });
    expect(await auth.authenticate(connect('a', SECRET))).toMatchObject({
      outcome: 'deny',
      reason: 'bad-credentials',
    });
  });

  it('an unknown user costs the same time as a wrong password (dummy hash of the same kind and cost)', async () => {
    const store = createMemoryStore([
      { username: 'a', hash: slowHash(SECRET) },
      { username: 'b', hash: slowHash('other password') },
      // A cheap minority hash: the dummy follows the most common kind, not the first entry.
      { username: 'c', hash: { algorithm: 'md5', hash: v.EMQX.md5.disable } },
    ]);
    const auth = createPasswordAuthenticator({ store, cache: false });
    await auth.authenticate(connect('nobody', 'warm-up'));
    const wrong: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 3; i++) {
      wrong.push((await timed(() => auth.authenticate(connect('a', `guess ${i}`))))[1]);
      unknown.push((await timed(() => auth.authenticate(connect(`nobody-${i}`, `guess ${i}`))))[1]);
    }
    const median = (xs: number[]) => xs.sort((x, y) => x - y)[1]!;
    expect(median(unknown)).toBeGreaterThan(median(wrong) * 0.5);
    expect(median(unknown)).toBeLessThan(median(wrong) * 2);
  });

  it('an empty store still spends an argon2id verification on unknown users', async () => {
    const auth = createPasswordAuthenticator({ store: createMemoryStore() });
    const [outcome, ms] = await timed(() => auth.authenticate(connect('nobody', SECRET)));
    expect(outcome).toMatchObject({ outcome: 'deny' });
    expect(ms).toBeGreaterThan(5);
  });

  it('caches successes only, keyed by an HMAC: no key or value holds the password', async () => {
    const sets = vi.spyOn(LRUCache.prototype, 'set');
    const store = createMemoryStore([{ username: 'a', hash: slowHash(SECRET) }]);
    const auth = createPasswordAuthenticator({ store });
    const [first, cold] = await timed(() => auth.authenticate(connect('a', SECRET)));
    const [second, warm] = await timed(() => auth.authenticate(connect('a', SECRET)));
    expect(first.outcome).toBe('allow');
    expect(second).toEqual(first);
    expect(warm).toBeLessThan(cold / 5);
    // A wrong password never hits the cache.
    const [wrong, wrongMs] = await timed(() => auth.authenticate(connect('a', `${SECRET}!`)));
    expect(wrong.outcome).toBe('deny');
    expect(wrongMs).toBeGreaterThan(warm * 5);
    expect(sets).toHaveBeenCalledTimes(1);
    const [key, value] = sets.mock.calls[0]!;
    const forms = [SECRET, Buffer.from(SECRET).toString('base64'), Buffer.from(SECRET).toString('hex')];
    for (const form of forms) expect(JSON.stringify([key, value])).not.toContain(form);
    expect(key).toMatch(/^[A-Za-z0-9+/]{43}=$/); // an HMAC-SHA256
  });

  it('concurrent logins with the same credentials share one verification', async () => {
    let parses = 0;
    // parseHash reads `iterations` a fixed number of times per verification; count them.
    const stored = new Proxy(
      {
        algorithm: 'pbkdf2',
        macFun: 'sha256',
        iterations: 1000,
        dkLength: 32,
        salt: v.EMQX_SALT,
        hash: v.EMQX_PBKDF2_SHA256_32,
      },
      {
        get(target, property, receiver) {
          if (property === 'iterations') parses++;
          return Reflect.get(target, property, receiver);
        },
      },
    ) as StoredHash;
    const store = () => createMemoryStore([{ username: 'a', hash: stored }]);
    const burst = async (auth: ReturnType<typeof createPasswordAuthenticator>) => {
      parses = 0;
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, () => auth.authenticate(connect('a', v.PASSWORD))),
      );
      expect(outcomes.every((o) => o.outcome === 'allow')).toBe(true);
      return parses;
    };
    // A first (wrong) attempt picks the dummy hash, which parses the store once; count after it.
    const warm = async (options: { cache?: false } = {}) => {
      const auth = createPasswordAuthenticator({ store: store(), ...options });
      await auth.authenticate(connect('a', 'wrong'));
      return auth;
    };
    const single = await warm();
    parses = 0;
    await single.authenticate(connect('a', v.PASSWORD));
    const perVerification = parses;
    expect(perVerification).toBeGreaterThan(0);
    expect(await burst(await warm())).toBe(perVerification);
    expect(await burst(await warm({ cache: false }))).toBe(8 * perVerification);
    // A wrong password arriving alongside is verified on its own and denied.
    const auth = createPasswordAuthenticator({ store: store() });
    const [right, wrong] = await Promise.all([
      auth.authenticate(connect('a', v.PASSWORD)),
      auth.authenticate(connect('a', 'not the password')),
    ]);
    expect([right.outcome, wrong.outcome]).toEqual(['allow', 'deny']);
  });

  it('a changed password invalidates the cached success at once', async () => {
    const store = createMemoryStore([{ username: 'a', hash: await hashPassword(SECRET, CHEAP) }]);
    const auth = createPasswordAuthenticator({ store, cache: { ttlMs: 60_000 } });
    expect((await auth.authenticate(connect('a', SECRET))).outcome).toBe('allow');
    store.set({ username: 'a', hash: await hashPassword('a brand new secret', CHEAP) });
    expect((await auth.authenticate(connect('a', SECRET))).outcome).toBe('deny');
    expect((await auth.authenticate(connect('a', 'a brand new secret'))).outcome).toBe('allow');

    // A store that changes without telling: the cached hash no longer matches the entry.
    const users = new Map<string, UserEntry>([
      ['b', { username: 'b', hash: await hashPassword(SECRET, CHEAP) }],
    ]);
    const silent: CredentialStore = {
      get: (u) => users.get(u),
      entries: () => users.values(),
      onChange: () => () => {},
    };
    const auth2 = createPasswordAuthenticator({ store: silent });
    expect((await auth2.authenticate(connect('b', SECRET))).outcome).toBe('allow');
    users.set('b', { username: 'b', hash: await hashPassword('rotated secret value', CHEAP) });
    expect((await auth2.authenticate(connect('b', SECRET))).outcome).toBe('deny');
  });

  it('disabled users and expired passwords are refused, after the password is checked', async () => {
    const hash = await hashPassword(SECRET, CHEAP);
    const store = createMemoryStore([
      { username: 'off', hash, disabled: true },
      { username: 'old', hash, passwordChangedAt: new Date('2025-01-01T00:00:00Z') },
    ]);
    const now = () => Date.parse('2025-06-01T00:00:00Z');
    const auth = createPasswordAuthenticator({ store, rules: { maxAgeDays: 90 }, now });
    expect(await auth.authenticate(connect('off', SECRET))).toEqual({
      outcome: 'deny',
      reason: 'not-authorized',
      message: 'user is disabled',
    });
    expect(await auth.authenticate(connect('off', 'wrong'))).toMatchObject({ reason: 'bad-credentials' });
    expect(await auth.authenticate(connect('old', SECRET))).toEqual({
      outcome: 'deny',
      reason: 'expired',
      message: expect.stringMatching(/expired on 2025-04-01.*older than 90 days/),
    });
    expect(await auth.authenticate(connect('old', 'wrong'))).toMatchObject({ reason: 'bad-credentials' });
  });

  it('an unusable stored hash denies with reason error and logs no secret', async () => {
    const logged: unknown[] = [];
    const logger = {
      warn: (o: object, m?: string) => logged.push(o, m),
      error: (o: object, m?: string) => logged.push(o, m),
    };
    const entry = { username: 'a', hash: '$7$0$AAAAAAAAAAAAAAAA$AAAA' };
    const store: CredentialStore = { get: () => entry, entries: () => [entry], onChange: () => () => {} };
    const auth = createPasswordAuthenticator({ store, logger });
    expect(await auth.authenticate(connect('a', SECRET))).toEqual({
      outcome: 'deny',
      reason: 'error',
      message: 'stored credentials are unusable',
    });
    expect(JSON.stringify(logged)).toContain('ERR_PASSWORD_FORMAT');
    expect(JSON.stringify(logged)).not.toContain(SECRET);
    expect(JSON.stringify(logged)).not.toContain(entry.hash);
  });

  it('rehash upgrades a weak hash to argon2id after a successful login', async () => {
    const store = createMemoryStore([{ username: 'a', hash: v.MOSQUITTO_PASSWD_SHA512 }]);
    const auth = createPasswordAuthenticator({ store, rehash: CHEAP });
    expect((await auth.authenticate(connect('a', v.PASSWORD))).outcome).toBe('allow');
    await vi.waitFor(() => expect(store.get('a')?.hash).toMatch(/^\$argon2id\$v=19\$m=256,t=1,p=1\$/));
    expect(await verifyPassword(v.PASSWORD, store.get('a')!.hash)).toBe(true);
    expect((await auth.authenticate(connect('a', v.PASSWORD))).outcome).toBe('allow');
  });

  it('binary passwords are compared as bytes', async () => {
    const store = createMemoryStore([{ username: 'bin', hash: v.MOSQUITTO_SHA512_BINARY }]);
    const auth = createPasswordAuthenticator({ store });
    expect((await auth.authenticate(connect('bin', v.BINARY_PASSWORD))).outcome).toBe('allow');
    expect((await auth.authenticate(connect('bin', v.BINARY_PASSWORD.subarray(1)))).outcome).toBe('deny');
  });
});

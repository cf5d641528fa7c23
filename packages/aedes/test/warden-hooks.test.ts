import { timingSafeEqual } from 'node:crypto';
import {
  type AuditEvent,
  type Authenticator,
  type Authorizer,
  createGuard,
  type Guard,
  type Principal,
  UnavailableError,
} from '@mqtt-warden/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthenticationFailedError,
  ConnectRefusedError,
  NotAuthorizedError,
  wardenHooks,
} from '../src/index.js';
import {
  collect,
  connect,
  connectedClient,
  delay,
  end,
  publish,
  startBroker,
  subscribeRaw,
  type TestBroker,
} from './helpers.js';

type Grants = Partial<Record<'publish' | 'subscribe' | 'receive', string[]>>;

/** Grants per principal id: `#` = everything, `a/#` = `a` and below, otherwise the exact string. */
function tableAuthorizer(
  table: Record<string, Grants>,
): Authorizer & { set(table: Record<string, Grants>): void } {
  const listeners = new Set<() => void>();
  let current = table;
  const covers = (rule: string, topic: string) =>
    rule === '#' || rule === topic || (rule.endsWith('/#') && (topic + '/').startsWith(rule.slice(0, -1)));
  return {
    authorize(principal, request) {
      const allowed = (current[principal.id]?.[request.action] ?? []).some((rule) =>
        covers(rule, request.topic),
      );
      return { allowed, reason: allowed ? 'rule' : 'default' };
    },
    admit: (principal) =>
      principal.id === 'banned' ? { allowed: false, reason: 'rule' } : { allowed: true, reason: 'default' },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    set(table) {
      current = table;
      for (const listener of listeners) listener();
    },
  };
}

/** username → password; `down` throws UnavailableError, `ttl:<ms>` expires after ms. */
const passwords: Authenticator = {
  name: 'inline',
  authenticate(request) {
    const { username, password } = request;
    if (username === undefined) return { outcome: 'ignore' };
    if (username === 'down') throw new UnavailableError('store unreachable');
    const expected = Buffer.from(`${username}-secret`);
    const given = Buffer.from(password ?? new Uint8Array());
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { outcome: 'deny', reason: 'bad-credentials' };
    }
    const ttl = /^ttl(\d+)$/.exec(username)?.[1];
    const principal: Principal = {
      id: ttl ? 'reader' : username,
      clientId: request.clientId,
      username,
      method: 'inline',
      roles: [],
      attributes: {},
      superuser: username === 'admin',
      expiresAt: ttl ? Date.now() + Number(ttl) : undefined,
    };
    return { outcome: 'allow', principal };
  },
};

const grants: Record<string, Grants> = {
  writer: { publish: ['public/#', 'status/writer'], subscribe: ['public/#'], receive: ['public/#'] },
  reader: { subscribe: ['#', 'public/#', 'secret/#'], receive: ['public/#'] },
  banned: {},
};

describe('wardenHooks on a real Aedes broker (TCP, MQTT.js)', () => {
  const authorizer = tableAuthorizer(grants);
  const audit: AuditEvent[] = [];
  const preConnectSeen: string[] = [];
  let guard: Guard;
  let hooks: ReturnType<typeof wardenHooks>;
  let server: TestBroker;
  let url: string;
  const clientErrors: Error[] = [];
  const connectionErrors: Error[] = [];

  beforeAll(async () => {
    guard = createGuard({ authenticators: [passwords], authorizer, audit: (event) => audit.push(event) });
    hooks = wardenHooks(guard, {
      clientId: /^(?!evil)/,
      preConnect: ({ clientId, remoteAddress }) => {
        preConnectSeen.push(`${clientId}@${remoteAddress}`);
        if (clientId === 'throttled') return false;
        if (clientId === 'broken-check') throw new Error('rate limiter down');
        return true;
      },
    });
    server = await startBroker({ ...hooks });
    server.broker.on('clientError', (_client, error) => clientErrors.push(error));
    server.broker.on('connectionError', (_client, error) => connectionErrors.push(error));
    url = `mqtt://127.0.0.1:${server.ports.tcp}`;
  });
  afterAll(async () => {
    hooks.close();
    await server.close();
  });
  afterEach(() => authorizer.set(grants));

  const login = (username: string, extra: Parameters<typeof connect>[1] = {}) =>
    connect(url, {
      username,
      password: `${username}-secret`,
      clientId: `${username}-${Math.random()}`,
      ...extra,
    });

  describe('connect', () => {
    it('accepts good credentials with CONNACK 0 and keeps the principal on the client', async () => {
      const c = await login('writer', { clientId: 'writer-1' });
      expect(c.returnCode).toBe(0);
      expect(hooks.principalOf(connectedClient(server.broker, 'writer-1'))?.id).toBe('writer');
      await end(c);
    });

    it('answers a wrong password with CONNACK 4 and closes', async () => {
      const c = await connect(url, { username: 'writer', password: 'nope', clientId: 'w2' });
      expect(c.returnCode).toBe(4);
      await c.closed;
      expect(clientErrors.at(-1)).toBeInstanceOf(AuthenticationFailedError);
      expect(clientErrors.at(-1)?.message).not.toContain('nope');
    });

    it('answers no credentials at all (no authenticator accepted) with CONNACK 5', async () => {
      const c = await connect(url, { clientId: 'anon' });
      expect(c.returnCode).toBe(5);
      await c.closed;
    });

    it('answers a principal the policy does not admit with CONNACK 5', async () => {
      expect((await login('banned')).returnCode).toBe(5);
    });

    it('answers an unavailable credential store with CONNACK 3', async () => {
      expect((await login('down')).returnCode).toBe(3);
    });

    it('closes without CONNACK for a client id outside the allowlist, before authentication', async () => {
      const before = audit.length;
      const c = await login('writer', { clientId: 'evil-1' });
      expect(c.returnCode).toBe('closed');
      expect(c.packets).toEqual([]);
      expect(audit.slice(before).filter((e) => e.type === 'authenticate')).toEqual([]);
      expect(connectionErrors.at(-1)).toBeInstanceOf(ConnectRefusedError);
    });

    it('runs the preConnect hook with the client id and address; false or a throw closes without CONNACK', async () => {
      expect((await login('writer', { clientId: 'throttled' })).returnCode).toBe('closed');
      expect((await login('writer', { clientId: 'broken-check' })).returnCode).toBe('closed');
      expect(preConnectSeen).toContain('throttled@127.0.0.1');
    });

    it('refuses a will the principal may not publish with CONNACK 5', async () => {
      const c = await login('writer', {
        will: { topic: 'secret/last-words', payload: Buffer.from('x'), qos: 0, retain: false },
      });
      expect(c.returnCode).toBe(5);
      const sys = await login('admin', {
        will: { topic: '$SYS/x', payload: Buffer.from('x'), qos: 0, retain: false },
      });
      expect(sys.returnCode).toBe(5);
    });

    it('publishes an authorized will when its client drops', async () => {
      const reader = await login('reader');
      await subscribeRaw(reader, { 'status/#': { qos: 0 } });
      authorizer.set({ ...grants, reader: { ...grants.reader, receive: ['status/#'] } });
      const got = collect(reader.client);
      const writer = await login('writer', {
        will: { topic: 'status/writer', payload: Buffer.from('gone'), qos: 0, retain: false },
      });
      expect(writer.returnCode).toBe(0);
      writer.client.stream.destroy();
      await delay(200);
      expect(got).toEqual([{ topic: 'status/writer', payload: 'gone', retain: false }]);
      await end(reader);
    });
  });

  describe('publish', () => {
    it('delivers an allowed publish and closes the connection after a refused one', async () => {
      const writer = await login('writer');
      expect(await publish(writer.client, 'public/a', 'ok')).toBeUndefined();
      const error = await publish(writer.client, 'secret/a', 'no');
      expect(error?.message).toMatch(/closed/i);
      await writer.closed;
      expect(clientErrors.at(-1)).toBeInstanceOf(NotAuthorizedError);
    });

    it('checks retain: the guard sees the retain flag and QoS', async () => {
      const before = audit.length;
      const writer = await login('writer');
      await publish(writer.client, 'public/r', 'x', { qos: 1, retain: true });
      const event = audit.slice(before).find((e) => e.type === 'authorize' && e.action === 'publish');
      expect(event).toMatchObject({ topic: 'public/r', qos: 1, retain: true, allowed: true });
      await end(writer);
    });

    it('forgets remembered publish decisions when the policy changes', async () => {
      const writer = await login('writer');
      expect(await publish(writer.client, 'public/revoked', '1')).toBeUndefined();
      authorizer.set({ ...grants, writer: { ...grants.writer, publish: ['status/writer'] } });
      expect(await publish(writer.client, 'public/revoked', '2')).toBeInstanceOf(Error);
      await writer.closed;
    });

    it('keeps $SYS/ closed even to a superuser', async () => {
      const admin = await login('admin');
      expect(admin.returnCode).toBe(0);
      expect(await publish(admin.client, '$SYS/fake', 'x')).toBeDefined();
      await admin.closed;
    });
  });

  describe('subscribe', () => {
    it('answers SUBACK 0x80 for a refused entry and grants the others', async () => {
      const writer = await login('writer');
      expect(
        await subscribeRaw(writer, {
          'public/#': { qos: 1 },
          'secret/#': { qos: 0 },
          'public/x': { qos: 2 },
        }),
      ).toEqual([1, 0x80, 2]);
      expect(writer.client.connected).toBe(true);
      await end(writer);
    });

    it('refuses $share and $queue filters, which Aedes 1.x would treat as plain $ filters', async () => {
      const admin = await login('admin');
      expect(
        await subscribeRaw(admin, {
          '$share/g/public/#': { qos: 0 },
          '$queue/public/#': { qos: 0 },
          'x/#': { qos: 0 },
        }),
      ).toEqual([0x80, 0x80, 0]);
      await end(admin);
    });
  });

  describe('deliveries (authorizeForward)', () => {
    it('never delivers what the subscriber may not receive through #: live, retained, offline queue', async () => {
      const writer = await login('writer');
      authorizer.set({ ...grants, writer: { ...grants.writer, publish: ['#'] } });
      await publish(writer.client, 'secret/retained', 'hidden', { retain: true });
      await publish(writer.client, 'public/retained', 'shown', { retain: true });

      // A persistent session, subscribed to everything, then offline while messages queue.
      const opts = { clientId: 'reader-persistent', clean: false };
      const first = await login('reader', opts);
      const live = collect(first.client);
      expect(await subscribeRaw(first, { '#': { qos: 1 } })).toEqual([1]);
      await delay(100);
      await publish(writer.client, 'secret/live', 'hidden');
      await publish(writer.client, 'public/live', 'shown');
      await delay(200);
      await end(first);
      await publish(writer.client, 'secret/queued', 'hidden');
      await publish(writer.client, 'public/queued', 'shown');

      const second = await login('reader', opts);
      const queued = collect(second.client);
      await delay(300);
      const topics = [...live, ...queued].map((m) => m.topic);
      expect(topics).toEqual(expect.arrayContaining(['public/retained', 'public/live', 'public/queued']));
      expect(queued.map((m) => m.topic)).toContain('public/queued');
      expect(topics.filter((t) => t.startsWith('secret/'))).toEqual([]);
      await end(second);
      await end(writer);
    });

    it('applies a policy change to connected clients', async () => {
      const reader = await login('reader');
      const writer = await login('writer');
      await subscribeRaw(reader, { 'public/policy/#': { qos: 1 } });
      const got = collect(reader.client);
      await publish(writer.client, 'public/policy/before', '1');
      await delay(100);
      authorizer.set({ ...grants, reader: { ...grants.reader, receive: [] } });
      await publish(writer.client, 'public/policy/before', '2');
      await publish(writer.client, 'public/policy/after', '3');
      await delay(200);
      expect(got.map((m) => m.payload)).toEqual(['1']);
      await end(reader);
      await end(writer);
    });

    it('sends receive decisions to the guard audit sink', async () => {
      const reader = await login('reader');
      const writer = await login('writer');
      await subscribeRaw(reader, { 'public/#': { qos: 0 } });
      const before = audit.length;
      await publish(writer.client, 'public/audited', 'x');
      await delay(100);
      expect(audit.slice(before)).toContainEqual(
        expect.objectContaining({
          type: 'authorize',
          action: 'receive',
          topic: 'public/audited',
          allowed: true,
        }),
      );
      await end(reader);
      await end(writer);
    });
  });

  describe('expiry', () => {
    it('disconnects a principal when its expiresAt passes', async () => {
      const c = await login('ttl400');
      expect(c.returnCode).toBe(0);
      const started = Date.now();
      await c.closed;
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it('refuses credentials that have already expired with CONNACK 4', async () => {
      expect((await login('ttl0')).returnCode).toBe(4);
    });
  });
});

describe('decisionCacheSize', () => {
  it('0 sends every publish and receive check to the guard (and its audit sink)', async () => {
    const audit: AuditEvent[] = [];
    const guard = createGuard({
      authenticators: [passwords],
      authorizer: tableAuthorizer(grants),
      audit: (event) => audit.push(event),
      cache: false,
    });
    const hooks = wardenHooks(guard, { decisionCacheSize: 0 });
    const server = await startBroker({ ...hooks });
    try {
      const url = `mqtt://127.0.0.1:${server.ports.tcp}`;
      const reader = await connect(url, { clientId: 'r', username: 'reader', password: 'reader-secret' });
      const writer = await connect(url, { clientId: 'w', username: 'writer', password: 'writer-secret' });
      await subscribeRaw(reader, { 'public/#': { qos: 1 } });
      for (let i = 0; i < 3; i++) await publish(writer.client, 'public/same', String(i));
      await delay(100);
      const checks = audit.filter((e) => e.type === 'authorize' && e.topic === 'public/same');
      expect(checks.filter((e) => e.type === 'authorize' && e.action === 'publish')).toHaveLength(3);
      expect(checks.filter((e) => e.type === 'authorize' && e.action === 'receive')).toHaveLength(3);
      await end(reader);
      await end(writer);
    } finally {
      hooks.close();
      await server.close();
    }
  });
});

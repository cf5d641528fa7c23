import type { AdapterReply, Decision, Guard, Principal, PrincipalResolver } from '@mqtt-warden/core';
import { createEmqxCore, type EmqxDecisionEvent, emqxJsonKeys } from '@mqtt-warden/emqx';
import { describe, expect, it } from 'vitest';

const PRINCIPAL: Principal = {
  id: 'dev1',
  username: 'dev1',
  clientId: 'c1',
  method: 'password',
  roles: [],
  attributes: {},
};
const BODY = { username: 'dev1', clientid: 'c1', topic: 'devices/dev1/t', action: 'publish', qos: '1' };

function setup(
  resolve: PrincipalResolver['resolve'],
  decision: Decision = { allowed: true, reason: 'rule' },
) {
  const events: EmqxDecisionEvent[] = [];
  const lines: { level: string; object: object; message: string }[] = [];
  const log = {
    debug: (object: object, message: string) => lines.push({ level: 'debug', object, message }),
    error: (object: object, message: string) => lines.push({ level: 'error', object, message }),
  };
  const guard = { authorize: () => decision } as unknown as Guard;
  const core = createEmqxCore({ guard, resolver: { resolve }, onDecision: (e) => events.push(e) });
  return { core, events, lines, log };
}

const text = (reply: AdapterReply) => `${reply.status} ${reply.body}`;

describe('emqx core authz', () => {
  it('answers a resolved session and an allow without a promise', () => {
    const { core, events, log } = setup(() => PRINCIPAL);
    const reply = core.authz({ body: BODY }, log);
    expect(reply).not.toBeInstanceOf(Promise);
    expect(text(reply as AdapterReply)).toBe('200 {"result":"allow"}');
    expect(events).toEqual([{ action: 'publish', result: 'allow' }]);
  });

  it('answers a plain deny at once too, with its reason reported', () => {
    const { core, events, log } = setup(() => PRINCIPAL, { allowed: false, reason: 'default' });
    const reply = core.authz({ body: { ...BODY, action: 'subscribe' } }, log);
    expect(text(reply as AdapterReply)).toBe('200 {"result":"deny"}');
    expect(events).toEqual([{ action: 'subscribe', result: 'deny', reason: 'default' }]);
  });

  it('follows a resolver that waits, to the same reply', async () => {
    const { core, events, log } = setup(async () => PRINCIPAL);
    const reply = core.authz({ body: BODY }, log);
    expect(reply).toBeInstanceOf(Promise);
    expect(text(await reply)).toBe('200 {"result":"allow"}');
    expect(events).toEqual([{ action: 'publish', result: 'allow' }]);
  });

  it('awaits a promise of another library (a thenable), never taking it for the principal', async () => {
    // biome-ignore lint/suspicious/noThenProperty: a promise of another library is the point
    const thenable = { then: (resolve: (p: Principal) => void) => resolve(PRINCIPAL) };
    const events: EmqxDecisionEvent[] = [];
    // The guard allows only the real principal: a thenable taken for it would be denied.
    const guard = {
      authorize: (p: Principal) =>
        p === PRINCIPAL ? { allowed: true, reason: 'rule' } : { allowed: false, reason: 'default' },
    } as unknown as Guard;
    const core = createEmqxCore({
      guard,
      resolver: { resolve: () => thenable as unknown as Promise<Principal> },
      onDecision: (e) => events.push(e),
    });
    const reply = core.authz({ body: BODY }, { debug: () => {}, error: () => {} });
    expect(reply).toBeInstanceOf(Promise);
    expect(text(await reply)).toBe('200 {"result":"allow"}');
    expect(events).toEqual([{ action: 'publish', result: 'allow' }]);
  });

  it('refuses an unknown session, waiting or not', async () => {
    for (const resolve of [() => undefined, async () => undefined]) {
      const { core, events, log } = setup(resolve);
      expect(text(await core.authz({ body: BODY }, log))).toBe('200 {"result":"deny"}');
      expect(events).toEqual([{ action: 'publish', result: 'deny', reason: 'unknown' }]);
    }
  });

  it('answers onError when the resolver throws or rejects, and logs it', async () => {
    const throwing = () => {
      throw new Error('store down');
    };
    const rejecting = () => Promise.reject(new Error('store down'));
    for (const resolve of [throwing, rejecting]) {
      const { core, events, lines, log } = setup(resolve);
      expect(text(await core.authz({ body: BODY }, log))).toBe('200 {"result":"deny"}');
      expect(events).toEqual([{ action: 'publish', result: 'deny', reason: 'error' }]);
      expect(lines.map((l) => `${l.level} ${l.message}`)).toEqual(['error principal resolver failed']);
    }
  });

  it('holds a refusal the defenses hold, in a promise', async () => {
    const { core, events, log } = setup(() => PRINCIPAL, { allowed: false, reason: 'default', holdMs: 5 });
    const reply = core.authz({ body: BODY }, log);
    expect(reply).toBeInstanceOf(Promise);
    expect(events).toEqual([]);
    expect(text(await reply)).toBe('200 {"result":"deny"}');
    expect(events).toEqual([{ action: 'publish', result: 'deny', reason: 'default' }]);
  });

  it('logs ignored keys only when a key was ignored, inherited ones never', () => {
    const { core, lines, log } = setup(() => PRINCIPAL);
    core.authz({ body: BODY }, log);
    expect(lines).toEqual([]);
    const inherited = Object.assign(Object.create({ extra: 'x' }), BODY);
    core.authz({ body: inherited }, log);
    expect(lines).toEqual([]);
    core.authz({ body: { ...BODY, proto_ver: '5', my_key: 'x' } }, log);
    expect(lines).toEqual([
      { level: 'debug', object: { keys: ['proto_ver', 'my_key'] }, message: 'EMQX request keys ignored' },
    ]);
  });
});

describe('emqxJsonKeys', () => {
  it("is the schemas' keys, plus a renaming template's own keys, or none when they cannot all be plain", () => {
    const names = (emqxJsonKeys() as NonNullable<ReturnType<typeof emqxJsonKeys>>).names;
    expect(names).toEqual(
      expect.arrayContaining(['username', 'clientid', 'topic', 'action', 'qos', 'retain']),
    );
    expect(names).toContain('password');
    expect(names).not.toContain('client_attrs.a');
    expect(emqxJsonKeys({ user: 'username', cid: 'clientid' })?.names).toEqual([...names, 'user', 'cid']);
    expect(emqxJsonKeys(JSON.parse('{"__proto__":"username"}'))).toBeUndefined();
    expect(emqxJsonKeys({ 'user name': 'username' })).toBeUndefined();
    expect(
      emqxJsonKeys(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'username']))),
    ).toBeUndefined();
  });
});

import type { AdapterReply, Decision, Guard, Principal, PrincipalResolver } from '@mqtt-warden/core';
import { createRabbitMqCore } from '@mqtt-warden/rabbitmq';
import { describe, expect, it } from 'vitest';

// The lean path writes a reply the core returns at once in the same turn: a remembered session with
// nothing to wait for must give a reply, not a promise; anything to wait for gives the same reply later.

const principal: Principal = {
  id: 'u1',
  username: 'u1',
  clientId: 'u1',
  method: 'password',
  roles: [],
  attributes: {},
};
const errors: string[] = [];
const log = { debug() {}, error: (_: object, message: string) => void errors.push(message) };

function core(resolve: PrincipalResolver['resolve'], decision: Decision) {
  const guard = { authorize: () => decision } as unknown as Guard;
  return createRabbitMqCore({ guard, resolver: { resolve } });
}

const topic = (fields: Record<string, string> = {}) =>
  Buffer.from(
    new URLSearchParams({
      username: 'u1',
      vhost: '/',
      resource: 'topic',
      name: 'amq.topic',
      permission: 'write',
      routing_key: 'devices.u1.t',
      'variable_map.client_id': 'u1',
      ...fields,
    }).toString(),
  );
const resource = Buffer.from('username=u1&vhost=%2F&resource=exchange&name=amq.topic&permission=write');
const vhost = Buffer.from('username=u1&vhost=%2F&client_id=u1');
const text = (reply: AdapterReply) => `${reply.status} ${String(reply.body)}`;

describe('the RabbitMQ core answers without a promise when nothing needs waiting', () => {
  const allow: Decision = { allowed: true, reason: 'rule' };

  it('topic, resource and vhost: a remembered session gives the reply itself', () => {
    const c = core(() => principal, allow);
    for (const reply of [c.topic(topic(), log), c.resource(resource, log), c.vhost(vhost, log)]) {
      expect(reply).not.toBeInstanceOf(Promise);
      expect(text(reply as AdapterReply)).toBe('200 allow');
    }
    // Refusals decided at once are at once too.
    expect(text(c.topic(topic({ name: 'other' }), log) as AdapterReply)).toBe('200 deny');
    expect(text(c.topic(topic({ username: '' }), log) as AdapterReply)).toBe('200 deny');
  });

  it('a session looked up elsewhere gives the same replies later', async () => {
    const c = core(async () => principal, allow);
    for (const reply of [c.topic(topic(), log), c.resource(resource, log), c.vhost(vhost, log)]) {
      expect(reply).toBeInstanceOf(Promise);
      expect(text(await reply)).toBe('200 allow');
    }
    const unknown = core(async () => undefined, allow).topic(topic(), log);
    expect(text(await unknown)).toBe('200 deny');
  });

  it('a resolver that throws or rejects is an error reply, logged', async () => {
    errors.length = 0;
    const thrown = core(() => {
      throw new Error('down');
    }, allow);
    expect(text(thrown.topic(topic(), log) as AdapterReply)).toBe('500 error');
    const rejected = core(() => Promise.reject(new Error('down')), allow);
    expect(text(await rejected.topic(topic(), log))).toBe('500 error');
    expect(errors).toEqual(['principal resolver failed', 'principal resolver failed']);
  });

  it('a refusal the defenses hold comes as a promise', async () => {
    const c = core(() => principal, { allowed: false, reason: 'default', holdMs: 1 });
    const reply = c.topic(topic(), log);
    expect(reply).toBeInstanceOf(Promise);
    expect(text(await reply)).toBe('200 deny');
  });
});

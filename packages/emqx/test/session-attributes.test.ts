import { createGuard, type Principal, type PrincipalQuery, type PrincipalResolver } from '@mqtt-warden/core';
import { emqxPlugin } from '@mqtt-warden/emqx';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';

const principal: Principal = {
  id: 'dev-1',
  username: 'dev-1',
  clientId: 'c1',
  method: 'test',
  roles: [],
  attributes: { site: 'berlin', ticket: 'from-the-principal' },
};

/** The resolver hands EMQX a session attribute at login and reads it back in authz requests. */
async function build() {
  const queries: PrincipalQuery[] = [];
  const resolver: PrincipalResolver = {
    resolve(query) {
      queries.push(query);
      return query.attributes?.ticket === 'signed'
        ? { ...principal, clientId: query.clientId ?? '' }
        : undefined;
    },
    attributesFor: (request) => ({ ticket: 'signed', 'bad key': 'dropped', for: request.clientId }),
  };
  const app = Fastify();
  await app.register(emqxPlugin, {
    guard: createGuard({
      authenticators: [{ name: 'test', authenticate: () => ({ outcome: 'allow', principal }) }],
      authorizer: { authorize: () => ({ allowed: true, reason: 'rule' }) },
    }),
    resolver,
  });
  return { app, queries };
}

describe('EMQX session attributes (client_attrs carried by the broker)', () => {
  it('puts the resolver’s attributes into the authn reply’s client_attrs, over the principal’s own', async () => {
    const { app } = await build();
    const reply = await app.inject({
      method: 'POST',
      url: '/emqx/authn',
      payload: { username: 'dev-1', clientid: 'c1' },
    });
    expect(reply.json()).toEqual({
      result: 'allow',
      is_superuser: false,
      client_attrs: { site: 'berlin', ticket: 'signed', for: 'c1' },
    });
  });

  it('passes the client_attrs of an authz request to the resolver; without them the session is unknown', async () => {
    const { app, queries } = await build();
    const ask = (extra: Record<string, string>) =>
      app.inject({
        method: 'POST',
        url: '/emqx/authz',
        payload: { username: 'dev-1', clientid: 'c1', topic: 't', action: 'publish', ...extra },
      });
    expect((await ask({ 'client_attrs.ticket': 'signed' })).json()).toEqual({ result: 'allow' });
    expect(queries.at(-1)).toEqual({ username: 'dev-1', clientId: 'c1', attributes: { ticket: 'signed' } });
    expect((await ask({})).json()).toEqual({ result: 'deny' });
    expect((await ask({ 'client_attrs.ticket': 'forged' })).json()).toEqual({ result: 'deny' });
  });
});

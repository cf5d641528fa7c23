import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGuard } from '@mqtt-warden/core';
import { createIntrospectionClient, createOAuthAuthenticator } from '@mqtt-warden/oauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPassword } from './connect-request.js';

// Properties: whatever the introspection endpoint answers that is not a well-formed RFC 7662 active
// answer with a subject is a deny with a typed reason, never an allow (fail closed); and neither the
// token nor the resource server's client secret appears in any outcome message, error or log line.

const TOKEN = 'opaque-TOKEN-7f3a9c1e5b2d4f60';
const CLIENT_SECRET = 'rs-SECRET-c0ffee1234567890';
const LATER = Math.floor(Date.now() / 1000) + 3600;

let reply: { status: number; type: string; body: string } = { status: 200, type: '', body: '' };
let server: Server;
let endpoint: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    res.writeHead(reply.status, reply.type ? { 'content-type': reply.type } : {}).end(reply.body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/introspect`;
});
afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
});

const json = (value: unknown, status = 200) => ({
  status,
  type: 'application/json',
  body: JSON.stringify(value),
});

const UNAVAILABLE: [string, typeof reply][] = [
  ['HTML', { status: 200, type: 'text/html', body: '<html>login</html>' }],
  ['truncated JSON', { status: 200, type: 'application/json', body: '{"active":true,"sub":"a"' }],
  ['an empty body', { status: 200, type: 'application/json', body: '' }],
  ['JSON null', json(null)],
  ['a JSON list', json([{ active: true, sub: 'a' }])],
  ['a JSON string', json('active')],
  ['active "true" as a string', json({ active: 'true', sub: 'a' })],
  ['active 1', json({ active: 1, sub: 'a' })],
  ['active null', json({ active: null, sub: 'a' })],
  ['no active member', json({ sub: 'a', scope: 'mqtt:publish:#' })],
  ['a numeric sub', json({ active: true, sub: 42 })],
  ['exp as a string', json({ active: true, sub: 'a', exp: String(LATER) })],
  ['scope as a list', json({ active: true, sub: 'a', scope: ['mqtt:publish:#'] })],
  ['HTTP 500 carrying an active answer', json({ active: true, sub: 'a' }, 500)],
  ['HTTP 302 carrying an active answer', json({ active: true, sub: 'a' }, 302)],
  ['HTTP 401', json({ error: 'invalid_client' }, 401)],
];

const REFUSED: [string, typeof reply][] = [
  ['active false', json({ active: false, sub: 'a' })],
  ['no subject, username or client_id', json({ active: true, scope: 'mqtt:publish:#' })],
  [
    'a subject only in __proto__',
    { status: 200, type: 'application/json', body: `{"active":true,"__proto__":{"sub":"admin"}}` },
  ],
  ['an exp in the past', json({ active: true, sub: 'a', exp: 1_000_000 })],
  ['another audience', json({ active: true, sub: 'a', aud: ['other-api'] })],
];

describe('introspection answers that are not a clean active answer', () => {
  const logs: string[] = [];
  const logger = {
    warn: (obj: object, msg?: string) => void logs.push(JSON.stringify(obj) + (msg ?? '')),
    error: (obj: object, msg?: string) => void logs.push(JSON.stringify(obj) + (msg ?? '')),
  };
  let n = 0;
  async function attempt() {
    const introspection = createIntrospectionClient({
      endpoint,
      clientId: 'rs',
      clientSecret: CLIENT_SECRET,
      cacheTtlMs: 0,
      negativeCacheTtlMs: 0,
    });
    const oauth = createOAuthAuthenticator({ introspection, audience: 'mqtt-api' });
    const token = `${TOKEN}-${n++}`;
    const outcome = await oauth.authenticate(withPassword(token));
    const guard = createGuard({
      authenticators: [oauth],
      authorizer: { authorize: () => ({ allowed: true, reason: 'default' }) },
      logger,
    });
    const result = await guard.authenticate(withPassword(token));
    const thrown = await introspection.introspect(token).then(
      () => undefined,
      (error: Error) => error,
    );
    const text = [
      JSON.stringify(outcome),
      JSON.stringify(result),
      String(thrown),
      thrown?.stack ?? '',
      ...logs,
    ].join('\n');
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(CLIENT_SECRET);
    expect(result.ok).toBe(false);
    return { outcome, thrown };
  }

  it.each(UNAVAILABLE)('%s: deny "unavailable" (ERR_UNAVAILABLE)', async (_, answer) => {
    reply = answer;
    const { outcome, thrown } = await attempt();
    expect(outcome).toMatchObject({ outcome: 'deny', reason: 'unavailable', message: expect.any(String) });
    expect(thrown).toMatchObject({ code: 'ERR_UNAVAILABLE' });
  });

  it.each(REFUSED)('%s: deny "bad-credentials"', async (_, answer) => {
    reply = answer;
    const { outcome } = await attempt();
    expect(outcome).toMatchObject({
      outcome: 'deny',
      reason: 'bad-credentials',
      message: expect.any(String),
    });
  });

  it('a clean active answer is allowed (so the refusals above are not vacuous)', async () => {
    reply = json({ active: true, sub: 'device-1', aud: 'mqtt-api', exp: LATER });
    const introspection = createIntrospectionClient({
      endpoint,
      clientId: 'rs',
      clientSecret: CLIENT_SECRET,
    });
    const outcome = await createOAuthAuthenticator({ introspection, audience: 'mqtt-api' }).authenticate(
      withPassword(TOKEN),
    );
    expect(outcome).toMatchObject({ outcome: 'allow', principal: { id: 'device-1' } });
  });
});

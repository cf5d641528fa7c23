import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWardenServer, parseServerConfig, type WardenServer } from '../src/index.js';

// Property: no secrets in logs. The request serializer keeps query strings, headers and bodies of
// logged requests out; the redact paths catch a body or a password/token field that a handler or
// plugin logs at trace level.

const QUICKSTART = fileURLToPath(new URL('../../../examples/quickstart/', import.meta.url));
const SECRET = 'sup3r-s3cret-value';

describe('server log redaction at trace level', () => {
  let server: WardenServer;
  let logs = '';
  beforeAll(async () => {
    const stream = new PassThrough();
    stream.on('data', (chunk) => (logs += chunk));
    const config = parseServerConfig(
      'listen: { host: 127.0.0.1, port: 0 }\nlog: { level: trace, requests: true }\npolicy: { file: policy.yaml }\nauthenticators: [{ type: password, file: users.yaml }]\n',
      { baseDir: QUICKSTART },
    );
    server = await createWardenServer(config, { logStream: stream });
  });
  afterAll(() => server.close());

  const logged = async (obj: object) => {
    logs = '';
    server.app.log.trace(obj, 'probe');
    await new Promise((r) => setImmediate(r));
    return logs;
  };

  it.each([
    [
      'an Authorization header',
      { req: { method: 'POST', url: '/token', headers: { authorization: `Basic ${SECRET}` } } },
    ],
    ['a cookie', { req: { method: 'GET', url: '/health', headers: { cookie: `session=${SECRET}` } } }],
    ['a request body', { req: { method: 'POST', url: '/emqx/authn', body: { password: SECRET } } }],
  ])('keeps %s of a logged request out', async (_, obj) => {
    const line = await logged(obj);
    expect(line).toContain('"msg":"probe"');
    expect(line).toContain(obj.req.url);
    expect(line).not.toContain(SECRET);
  });

  it.each([
    ['a body', { body: `password=${SECRET}` }],
    ['a password', { password: SECRET }],
    ['a nested password', { connect: { password: SECRET } }],
    ['a token', { token: SECRET }],
    ['a nested token', { result: { token: SECRET } }],
  ])('redacts %s', async (_, obj) => {
    const line = await logged(obj);
    expect(line).toContain('"msg":"probe"');
    expect(line).toContain('[redacted]');
    expect(line).not.toContain(SECRET);
  });

  it('logs request paths without their query string', async () => {
    logs = '';
    await server.app.inject({ method: 'GET', url: `/emqx/authn?username=demo&password=${SECRET}` });
    await new Promise((r) => setImmediate(r));
    expect(logs).toContain('/emqx/authn');
    expect(logs).not.toContain(SECRET);
  });
});

import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWardenServer, parseServerConfig, type WardenServer } from '../src/index.js';
import { BODIES } from './malformed-bodies.js';
import { type Send, sender, TRANSPORTS } from './transports.js';

// Property: malformed input at every HTTP endpoint gets a typed 4xx ({error: CODE, message}),
// never a 5xx, a crash, an echoed secret or an allow.

const QUICKSTART = fileURLToPath(new URL('../../../examples/quickstart/', import.meta.url));

// Well-formed for every endpoint once the keys it does not read are ignored (EMQX and go-auth accept
// unknown keys; RabbitMQ takes no JSON): decided, never an allow and never a 5xx.
const WELL_FORMED = '{"username":"demo","clientid":"demo-1","topic":"#","action":"publish","acc":2}';

const PATHS = [
  '/emqx/authn',
  '/emqx/authz',
  '/mosquitto/user',
  '/mosquitto/superuser',
  '/mosquitto/acl',
  '/rabbitmq/user',
  '/rabbitmq/vhost',
  '/rabbitmq/resource',
  '/rabbitmq/topic',
];

// Over inject (Fastify alone) and over a real connection (the lean path first): the same answers.
describe.each(TRANSPORTS)('malformed requests at every endpoint, over %s', (transport) => {
  let server: WardenServer;
  let send: Send;
  beforeAll(async () => {
    const config = parseServerConfig(
      'listen: { host: 127.0.0.1, port: 0 }\nlog: { level: silent }\npolicy: { file: policy.yaml }\nauthenticators: [{ type: password, file: users.yaml }]\n',
      { baseDir: QUICKSTART },
    );
    server = await createWardenServer(config);
    send = await sender(server, transport);
  });
  afterAll(() => server.close());

  for (const path of PATHS) {
    it.each(BODIES)(`${path}: %s is refused without a 5xx`, async (_, payload) => {
      const res = await send({
        method: 'POST',
        url: path,
        headers: { 'content-type': 'application/json' },
        payload,
      });
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
      const body = res.json() as { error?: unknown; message?: unknown };
      expect(body.error).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(body.message).toEqual(expect.any(String));
      expect(res.body).not.toContain('demo-password');
    });
  }

  it.each(PATHS)(
    '%s: wildcards in a topic name, with keys the endpoint does not read, is never an allow',
    async (path) => {
      const res = await send({
        method: 'POST',
        url: path,
        headers: { 'content-type': 'application/json' },
        payload: WELL_FORMED,
      });
      expect(res.statusCode).toBeLessThan(500);
      expect(res.body).not.toMatch(/allow|"ok":true|^ok$/);
      if (res.statusCode === 200) expect(res.body).toMatch(/deny|denied/);
    },
  );

  it.each([
    ['a __proto__ key', '__proto__=x&username=demo&password=demo-password'],
    ['a repeated key', 'username=demo&username=admin&password=demo-password'],
    ['NUL bytes', 'username=demo%00&password=%00&vhost=%00'],
    ['a constructor key', 'constructor=x&username=demo&password=x&vhost=/'],
  ])('/rabbitmq/user form with %s is never an allow', async (_, payload) => {
    const res = await send({
      method: 'POST',
      url: '/rabbitmq/user',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload,
    });
    expect(res.statusCode).toBeLessThan(500);
    expect(res.body).not.toMatch(/^allow/);
  });
});

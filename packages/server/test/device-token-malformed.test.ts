import { fileURLToPath } from 'node:url';
import { createWardenServer, parseServerConfig, type WardenServer } from '@mqtt-warden/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Property: a malformed token request (Basic header, body, content type, client_id) gets a typed
// 4xx and never a token, whichever form parser is mounted (the RabbitMQ adapter brings its own).

const QUICKSTART = fileURLToPath(new URL('../../../examples/quickstart/', import.meta.url));
const basic = (raw: string | Buffer) => `Basic ${Buffer.from(raw).toString('base64')}`;
const GOOD = basic('demo:demo-password');
const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';

const CASES: [string, Record<string, string>, string][] = [
  ['no Authorization header', { 'content-type': FORM }, 'client_id=demo'],
  ['an empty Basic header', { authorization: 'Basic ', 'content-type': FORM }, 'client_id=demo'],
  ['Basic without a colon', { authorization: basic('demo'), 'content-type': FORM }, 'client_id=demo'],
  ['Basic that is not base64', { authorization: 'Basic !!!*', 'content-type': FORM }, 'client_id=demo'],
  ['two Basic credentials', { authorization: `${GOOD}, ${GOOD}`, 'content-type': FORM }, 'client_id=demo'],
  ['a Bearer token', { authorization: 'Bearer demo-password', 'content-type': FORM }, 'client_id=demo'],
  [
    'a username that is not UTF-8',
    { authorization: basic(Buffer.from([0xff, 0xfe, 0x3a, 0x61])), 'content-type': FORM },
    'client_id=demo',
  ],
  [
    'NUL in the username',
    { authorization: basic('demo\u0000:demo-password'), 'content-type': FORM },
    'client_id=demo',
  ],
  [
    'a wrong password',
    { authorization: basic('demo:demo-passwordX'), 'content-type': FORM },
    'client_id=demo',
  ],
  [
    'a 64 kB password',
    { authorization: basic(`demo:${'p'.repeat(65_536)}`), 'content-type': FORM },
    'client_id=demo',
  ],
  ['a huge form body', { authorization: GOOD, 'content-type': FORM }, `client_id=${'a'.repeat(100_000)}`],
  [
    'a huge JSON body',
    { authorization: GOOD, 'content-type': JSON_TYPE },
    JSON.stringify({ client_id: 'a'.repeat(100_000) }),
  ],
  ['text/plain', { authorization: GOOD, 'content-type': 'text/plain' }, 'client_id=demo'],
  [
    'application/octet-stream',
    { authorization: GOOD, 'content-type': 'application/octet-stream' },
    'client_id=demo',
  ],
  [
    'multipart',
    { authorization: GOOD, 'content-type': 'multipart/form-data; boundary=x' },
    '--x\r\ncontent-disposition: form-data; name="client_id"\r\n\r\ndemo\r\n--x--',
  ],
  ['no content type', { authorization: GOOD }, 'client_id=demo'],
  ['no body at all', { authorization: GOOD }, ''],
  [
    'a JSON array for client_id',
    { authorization: GOOD, 'content-type': JSON_TYPE },
    '{"client_id":["demo"]}',
  ],
  [
    'a JSON object for client_id',
    { authorization: GOOD, 'content-type': JSON_TYPE },
    '{"client_id":{"0":"demo"}}',
  ],
  ['a JSON number for client_id', { authorization: GOOD, 'content-type': JSON_TYPE }, '{"client_id":1}'],
  [
    'a repeated form client_id',
    { authorization: GOOD, 'content-type': FORM },
    'client_id=other&client_id=demo',
  ],
  ['a client_id[] form field', { authorization: GOOD, 'content-type': FORM }, 'client_id[]=demo'],
  [
    'NUL in a JSON client_id',
    { authorization: GOOD, 'content-type': JSON_TYPE },
    '{"client_id":"demo\\u0000"}',
  ],
  ['NUL in a form client_id', { authorization: GOOD, 'content-type': FORM }, 'client_id=demo%00'],
  [
    'a lone surrogate in client_id',
    { authorization: GOOD, 'content-type': JSON_TYPE },
    '{"client_id":"demo-\\ud800"}',
  ],
  ['an empty client_id', { authorization: GOOD, 'content-type': FORM }, 'client_id='],
  [
    'a __proto__ JSON key',
    { authorization: GOOD, 'content-type': JSON_TYPE },
    '{"__proto__":{"client_id":"demo"},"client_id":"demo"}',
  ],
  ['a __proto__ form key', { authorization: GOOD, 'content-type': FORM }, '__proto__=x&client_id=demo'],
  [
    'a constructor JSON key',
    { authorization: GOOD, 'content-type': JSON_TYPE },
    '{"constructor":{"prototype":{"x":1}},"client_id":"demo"}',
  ],
  [
    'an extra field',
    { authorization: GOOD, 'content-type': JSON_TYPE },
    '{"client_id":"demo","scope":"admin"}',
  ],
  ['malformed JSON', { authorization: GOOD, 'content-type': JSON_TYPE }, '{"client_id":'],
  ['JSON null', { authorization: GOOD, 'content-type': JSON_TYPE }, 'null'],
  ['a JSON string', { authorization: GOOD, 'content-type': JSON_TYPE }, '"demo"'],
  ['a JSON list', { authorization: GOOD, 'content-type': JSON_TYPE }, '[{"client_id":"demo"}]'],
];

describe.each([
  ['no adapter (the token route parses forms itself)', 'false'],
  ['the broker adapters mounted (their form parsers stay in their own scopes)', 'true'],
])('/token with %s', (_, adapters) => {
  let server: WardenServer;
  beforeAll(async () => {
    server = await createWardenServer(
      parseServerConfig(
        `listen: { host: 127.0.0.1, port: 0 }
log: { level: silent }
policy: { file: policy.yaml }
authenticators: [{ type: password, file: users.yaml }]
deviceTokens: { enabled: true }
adapters:
  emqx: { enabled: ${adapters} }
  goAuth: { enabled: ${adapters} }
  rabbitmq: { enabled: ${adapters} }
`,
        { baseDir: QUICKSTART },
      ),
    );
  });
  afterAll(() => server.close());

  const post = (headers: Record<string, string>, payload: string) =>
    server.app.inject({ method: 'POST', url: '/token', headers, payload });

  it('issues a token for a well-formed request (so the refusals below are not vacuous)', async () => {
    for (const [type, payload] of [
      [FORM, 'client_id=demo'],
      [JSON_TYPE, '{"client_id":"demo"}'],
    ] as const) {
      const res = await post({ authorization: GOOD, 'content-type': type }, payload);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toHaveProperty('access_token');
    }
  });

  it.each(CASES)('%s: a typed 4xx, no token', async (_, headers, payload) => {
    const res = await post(headers, payload);
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    const body = res.json() as { error?: unknown; message?: unknown };
    expect(body.error).toMatch(/^[A-Z][A-Z0-9_]+$/);
    expect(body.message).toEqual(expect.any(String));
    expect(res.body).not.toMatch(/access_token|eyJ/);
    expect(res.body).not.toContain('demo-password');
    expect(res.headers['cache-control']).not.toBe('no-store');
  });
});

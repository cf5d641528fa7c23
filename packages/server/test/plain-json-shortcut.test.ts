import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createWardenServer, parseServerConfig, type WardenServer } from '../src/index.js';
import { type Answer, type Send, viaHttp } from './transports.js';

// The lean path reads plain JSON bodies of the EMQX and go-auth endpoints without JSON.parse
// (readPlainJson). Such a body must get exactly the reply the general path (secure-json-parse) gives
// for the same request written so that the shortcut gives up (an escape, a fraction, a BOM), and a body
// with a key the core ignores must still take the general path, so its debug line is still written.

/** secure-json-parse as the lean path calls it, counted: a call means the shortcut gave up. */
const parses = vi.hoisted(() => ({ count: 0 }));
vi.mock('secure-json-parse', async (importOriginal) => {
  const original = (await importOriginal()) as { default: (...args: unknown[]) => unknown };
  return {
    default: (...args: unknown[]) => {
      parses.count++;
      return original.default(...args);
    },
  };
});

const QUICKSTART = fileURLToPath(new URL('../../../examples/quickstart/', import.meta.url));
const JSON_TYPE = { 'content-type': 'application/json' };

let server: WardenServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(extra = '', logs?: { text: string }): Promise<Send> {
  const stream = new PassThrough();
  if (logs) stream.on('data', (chunk) => (logs.text += chunk));
  server = await createWardenServer(
    parseServerConfig(
      `listen: { host: 127.0.0.1, port: 0 }\nlog: { level: ${logs ? 'debug' : 'silent'} }\npolicy: { file: policy.yaml }\nauthenticators: [{ type: password, file: users.yaml }]\n${extra}`,
      { baseDir: QUICKSTART },
    ),
    { logStream: stream },
  );
  return viaHttp(await server.listen());
}

/** What a broker reads of a reply. */
const seen = (answer: Answer) => ({
  status: answer.statusCode,
  type: answer.headers['content-type'],
  body: answer.body,
  close: answer.headers.connection === 'close',
});

const AUTHZ =
  '{"username":"demo","clientid":"demo","topic":"devices/demo/t/3","action":"publish","qos":"1","retain":"false"}';
const ACL = '{"acc":2,"clientid":"demo","topic":"devices/demo/t/3","username":"demo"}';
const LOGIN = '{"username":"demo","password":"demo-password","clientid":"demo"}';

/** Plain bodies as the brokers send them, each with twins the shortcut leaves to secure-json-parse. */
const CASES: [url: string, plain: string, twins: string[]][] = [
  ['/emqx/authz', AUTHZ, [AUTHZ.replace('devices/demo', 'devices\\/demo'), `\ufeff${AUTHZ}`]],
  [
    '/emqx/authz',
    AUTHZ.replace('devices/demo', 'devices/sensor-1'),
    [AUTHZ.replace('devices/demo', 'devices\\/sensor-1')],
  ],
  [
    '/emqx/authz',
    AUTHZ.replace('"publish"', '"subscribe"'),
    [AUTHZ.replace('"publish"', '"\\u0073ubscribe"')],
  ],
  ['/emqx/authz', AUTHZ.replace('"1"', '1'), [AUTHZ.replace('"1"', '1.0')]],
  ['/emqx/authn', LOGIN, [LOGIN.replace('demo-password', 'demo\\u002dpassword')]],
  ['/emqx/authn', LOGIN.replace('demo-password', 'wrong'), [LOGIN.replace('demo-password', 'wrong\\/')]],
  [
    '/mosquitto/acl',
    ACL,
    [ACL.replace('2', '2.0'), ACL.replace('2', '2e0'), ACL.replace('devices/demo', 'devices\\/demo')],
  ],
  [
    '/mosquitto/acl',
    ACL.replace('"acc":2', '"acc":4').replace('/t/3', '/#'),
    [ACL.replace('"acc":2', '"acc":40e-1').replace('/t/3', '/#')],
  ],
  [
    '/mosquitto/acl',
    ACL.replace('devices/demo', 'devices/sensor-1'),
    [ACL.replace('devices/demo', 'devices\\/sensor-1')],
  ],
  ['/mosquitto/acl', ACL.replace('"acc":2', '"acc":-0'), [ACL.replace('"acc":2', '"acc":-0.0')]],
  ['/mosquitto/acl', ACL.replace('"demo"}', 'null}'), [ACL.replace('"demo"}', 'null}').replace('2', '2.0')]],
  ['/mosquitto/user', LOGIN, [LOGIN.replace('"demo"', '"\\u0064emo"')]],
  ['/mosquitto/superuser', '{"username":"admin"}', ['{"username":"\\u0061dmin"}']],
];

describe('plain JSON bodies on the lean path', () => {
  it('are read without secure-json-parse and answered exactly as their twins the general path reads', async () => {
    const http = await start();
    let allowed = 0;
    for (const [url, plain, twins] of CASES) {
      parses.count = 0;
      const shortcut = seen(await http({ method: 'POST', url, headers: JSON_TYPE, payload: plain }));
      expect(parses.count, `${url} ${plain}`).toBe(0);
      for (const twin of twins) {
        const general = seen(await http({ method: 'POST', url, headers: JSON_TYPE, payload: twin }));
        expect(general, `${url} ${twin}`).toEqual(shortcut);
      }
      expect(parses.count, `${url} ${plain}`).toBe(twins.length);
      // And what Fastify itself answers.
      const fastify = (await server?.app.inject({
        method: 'POST',
        url,
        headers: JSON_TYPE,
        payload: plain,
      })) as unknown as Answer;
      expect(seen(fastify)).toEqual(shortcut);
      if (shortcut.status === 200 && !/deny|denied|false/.test(shortcut.body)) allowed++;
    }
    // Allows, denies and refusals were all compared.
    expect(allowed).toBeGreaterThan(3);
    expect(allowed).toBeLessThan(CASES.length);
  });

  it('leaves a body with a key the core ignores to the general path, which logs it at debug', async () => {
    const logs = { text: '' };
    const http = await start('', logs);
    parses.count = 0;
    const emqx = await http({
      method: 'POST',
      url: '/emqx/authz',
      headers: JSON_TYPE,
      payload: AUTHZ.replace('{', '{"extra":"x",'),
    });
    const goAuth = await http({
      method: 'POST',
      url: '/mosquitto/acl',
      headers: JSON_TYPE,
      payload: ACL.replace('{', '{"other":1,'),
    });
    expect(emqx.json()).toEqual({ result: 'allow' });
    expect(goAuth.statusCode).toBe(200);
    expect(parses.count).toBe(2);
    const lines = logs.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string; keys?: string[] });
    expect(lines.find((line) => line.msg === 'EMQX request keys ignored')?.keys).toEqual(['extra']);
    expect(lines.find((line) => line.msg === 'go-auth request keys ignored')?.keys).toEqual(['other']);
  });

  it('reads the keys of a renaming EMQX template (adapters.emqx.fields) the same way', async () => {
    const http = await start('adapters: { emqx: { fields: { user: username, cid: clientid } } }\n');
    const renamed = AUTHZ.replace('"username"', '"user"').replace('"clientid"', '"cid"');
    parses.count = 0;
    const shortcut = seen(
      await http({ method: 'POST', url: '/emqx/authz', headers: JSON_TYPE, payload: renamed }),
    );
    expect(parses.count).toBe(0);
    expect(shortcut.body).toBe('{"result":"allow"}');
    const twin = renamed.replace('"user"', '"\\u0075ser"');
    expect(
      seen(await http({ method: 'POST', url: '/emqx/authz', headers: JSON_TYPE, payload: twin })),
    ).toEqual(shortcut);
    // Both names of one field: the core's 400, on either path.
    const both = renamed.replace('{', '{"username":"demo",');
    const refused = seen(
      await http({ method: 'POST', url: '/emqx/authz', headers: JSON_TYPE, payload: both }),
    );
    expect(refused.status).toBe(400);
    expect(parses.count).toBe(1);
    expect(
      seen(
        await http({
          method: 'POST',
          url: '/emqx/authz',
          headers: JSON_TYPE,
          payload: both.replace('"demo"', '"\\u0064emo"'),
        }),
      ),
    ).toEqual(refused);
  });
});

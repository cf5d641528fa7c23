import { fileURLToPath } from 'node:url';
import { createWardenServer, parseServerConfig, type WardenServer } from '@mqtt-warden/server';
import { afterEach, describe, expect, it } from 'vitest';

// Each adapter answers a locked-out attempt exactly as it answers a wrong password (status, type,
// body), without a verification; and a store that cannot answer gets the adapter's "error" reply.

const QUICKSTART = fileURLToPath(new URL('../../../examples/quickstart/', import.meta.url));

function server(defenses: string): Promise<WardenServer> {
  return createWardenServer(
    parseServerConfig(
      `listen: { host: 127.0.0.1, port: 0 }\nlog: { level: silent }\npolicy: { file: policy.yaml }\nauthenticators: [{ type: password, file: users.yaml }]\nadapters: { goAuth: { responseMode: json } }\ndefenses: ${defenses}\n`,
      { baseDir: QUICKSTART },
    ),
  );
}

const ADAPTERS: Record<string, (s: WardenServer, password: string) => Promise<string>> = {
  emqx: (s, password) =>
    reply(s, '/emqx/authn', 'application/json', {
      username: 'demo',
      password,
      clientid: 'demo',
      peerhost: '10.9.0.1',
    }),
  'go-auth': (s, password) =>
    reply(s, '/mosquitto/user', 'application/json', { username: 'demo', password, clientid: 'demo' }),
  rabbitmq: (s, password) =>
    reply(
      s,
      '/rabbitmq/user',
      'application/x-www-form-urlencoded',
      `username=demo&password=${encodeURIComponent(password)}&vhost=%2F&client_id=demo`,
    ),
};

async function reply(s: WardenServer, url: string, type: string, payload: unknown): Promise<string> {
  const res = await s.app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': type },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
  return JSON.stringify({ status: res.statusCode, type: res.headers['content-type'], body: res.body });
}

let open: WardenServer | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

/** Each broker's "could not decide" reply (EMQX onError: deny by default; go-auth and RabbitMQ a 500). */
const UNAVAILABLE: Record<string, { status: number; body: string }> = {
  emqx: { status: 200, body: '{"result":"deny"}' },
  'go-auth': { status: 500, body: '{"ok":false,"error":"internal error"}' },
  rabbitmq: { status: 500, body: 'error' },
};

describe.each(Object.entries(ADAPTERS))('%s', (name, ask) => {
  it('answers a locked-out user as a wrong password, with no verification', async () => {
    open = await server('{ lockout: { username: { failures: 3 }, backoff: { initialSeconds: 60 } } }');
    const s = open;
    const wrong = await ask(s, 'guess-1');
    await ask(s, 'guess-2');
    await ask(s, 'guess-3');
    expect(await s.defenses.lockout!.list()).toContainEqual(expect.objectContaining({ key: 'user:demo' }));
    const before = s.defenses.stats().verifications;
    expect(await ask(s, 'demo-password')).toBe(wrong);
    expect(s.defenses.stats().verifications).toBe(before);

    await s.defenses.lockout!.clear('user:demo');
    expect(await ask(s, 'demo-password')).not.toBe(wrong);
  });

  it('answers "error" in its own terms when the store is down (fail closed)', async () => {
    open = await server('{ store: { redis: { url: "redis://127.0.0.1:1", timeoutMs: 100 } } }');
    const answer = JSON.parse(await ask(open, 'demo-password'));
    expect(answer).toMatchObject(UNAVAILABLE[name]!);
    expect(open.defenses.stats().verifications).toBe(0);
    expect(open.defenses.stats().storeErrors).toBe(1);
  });
});

describe('metrics', () => {
  it('count refusals, locks placed and active, and verifications', async () => {
    open = await createWardenServer(
      parseServerConfig(
        'listen: { host: 127.0.0.1, port: 0 }\nlog: { level: silent }\npolicy: { file: policy.yaml }\nauthenticators: [{ type: password, file: users.yaml }]\nmetrics: { bearerToken: t }\ndefenses: { lockout: { username: { failures: 2 } } }\n',
        { baseDir: QUICKSTART },
      ),
    );
    for (const password of ['a', 'b', 'demo-password']) await ADAPTERS.emqx!(open, password);
    const text = (
      await open.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer t' } })
    ).body;
    expect(text).toMatch(/^mqtt_warden_lockouts_total\{key="user"\} 1$/m);
    expect(text).toMatch(/^mqtt_warden_defense_refusals_total\{defense="lockout",key="user"\} 1$/m);
    expect(text).toMatch(/^mqtt_warden_lockouts_active 1$/m);
    expect(text).toMatch(/^mqtt_warden_authentication_verifications_total 2$/m);
  });
});

describe('the defenses block', () => {
  const parse = (defenses: string) =>
    parseServerConfig(
      `policy: { file: policy.yaml }\nauthenticators: [{ type: password, file: users.yaml }]\ndefenses: ${defenses}\n`,
      { baseDir: QUICKSTART, file: 'warden.yaml' },
    );

  it('is on by default, with the documented thresholds', () => {
    const config = parseServerConfig(
      'policy: { file: policy.yaml }\nauthenticators: [{ type: password, file: users.yaml }]\n',
      { baseDir: QUICKSTART },
    );
    expect(config.defenses).toMatchObject({
      enabled: true,
      store: 'memory',
      onStoreError: 'closed',
      lockout: { usernameAddress: { failures: 5 }, username: { failures: 20 } },
    });
  });

  it('refuses a mistake with its location', () => {
    expect(() =>
      parse('{ lockout: { username: { failures: 0 } }, store: { redis: { url: "http://x" } } }'),
    ).toThrow(
      expect.objectContaining({
        code: 'ERR_CONFIG_INVALID',
        message: expect.stringMatching(/warden\.yaml:3:\d+: "defenses\.lockout\.username\.failures"/),
      }),
    );
  });
});

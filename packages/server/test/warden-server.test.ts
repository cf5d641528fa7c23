import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createWardenServer, parseServerConfig, type WardenServer } from '@mqtt-warden/server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { QUICKSTART_CONFIG, run } from '../src/commands/serve.js';

const QUICKSTART = fileURLToPath(new URL('../../../examples/quickstart/', import.meta.url));

function config(level = 'trace', baseDir = QUICKSTART) {
  return parseServerConfig(
    `listen: { host: 127.0.0.1, port: 0 }\nlog: { level: ${level}, requests: true }\npolicy: { file: policy.yaml }\nauthenticators: [{ type: password, file: users.yaml }]\nadapters: { goAuth: { responseMode: json } }\nmetrics: { bearerToken: metrics-token }\n`,
    { baseDir },
  );
}

describe('mqtt-warden server on the quickstart files', () => {
  let server: WardenServer;
  let base: string;
  let logs = '';
  beforeAll(async () => {
    const stream = new PassThrough();
    stream.on('data', (chunk) => (logs += chunk));
    server = await createWardenServer(config(), { logStream: stream });
    base = await server.listen();
  });
  afterAll(() => server.close());

  const post = (path: string, body: unknown) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('serves EMQX authn/authz with the password store and the policy', async () => {
    expect(
      await (
        await post('/emqx/authn', { username: 'demo', password: 'demo-password', clientid: 'demo' })
      ).json(),
    ).toEqual({
      result: 'allow',
      is_superuser: false,
      // The signed session ticket EMQX carries and sends back with authz requests (sessions.ticket).
      client_attrs: { warden_session: expect.stringMatching(/^w1\.[\w-]+\.[\w-]{43}$/) },
    });
    expect(
      await (await post('/emqx/authn', { username: 'demo', password: 'wrong', clientid: 'demo' })).json(),
    ).toEqual({ result: 'deny' });
    const authz = (topic: string, action = 'publish') =>
      post('/emqx/authz', { username: 'demo', clientid: 'demo', topic, action });
    expect(await (await authz('devices/demo/temp')).json()).toEqual({ result: 'allow' });
    expect(await (await authz('devices/demo-2/temp')).json()).toEqual({ result: 'deny' });
    expect(await (await authz('broadcast/#', 'subscribe')).json()).toEqual({ result: 'allow' });
    expect(await (await authz('broadcast/x')).json()).toEqual({ result: 'deny' });
    // The superuser flag comes from the users file.
    expect(
      await (
        await post('/emqx/authn', { username: 'admin', password: 'admin-password', clientid: 'admin' })
      ).json(),
    ).toMatchObject({ result: 'allow', is_superuser: true });
  });

  it('serves go-auth (json mode) and RabbitMQ', async () => {
    expect(
      await (
        await post('/mosquitto/user', { username: 'demo', password: 'demo-password', clientid: 'demo' })
      ).json(),
    ).toEqual({ ok: true, error: '' });
    expect(
      await (
        await post('/mosquitto/acl', {
          username: 'demo',
          clientid: 'demo',
          topic: 'devices/demo/#',
          acc: 4,
        })
      ).json(),
    ).toEqual({ ok: true, error: '' });
    expect(
      await (
        await post('/mosquitto/acl', { username: 'demo', clientid: 'demo', topic: 'devices/#', acc: 4 })
      ).json(),
    ).toEqual({ ok: false, error: 'not authorized' });
    // Superuser status comes from admin's session (its login), not from looking "admin" up.
    await post('/mosquitto/user', { username: 'admin', password: 'admin-password', clientid: 'admin-1' });
    expect(await (await post('/mosquitto/superuser', { username: 'admin' })).json()).toEqual({
      ok: true,
      error: '',
    });
    const topic = await fetch(`${base}/rabbitmq/topic`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=demo&vhost=%2F&resource=topic&name=amq.topic&permission=write&tags=&routing_key=devices.demo.t&variable_map.client_id=demo',
    });
    expect(await topic.text()).toBe('allow');
  });

  it('answers the RabbitMQ user path with the tags configured for the principal’s policy roles', async () => {
    const tagged = await createWardenServer(
      parseServerConfig(
        'listen: { host: 127.0.0.1, port: 0 }\nlog: { level: warn }\npolicy: { file: policy.yaml }\nauthenticators: [{ type: password, file: users.yaml }]\nadapters: { rabbitmq: { tags: { device: [management, monitoring] } } }\n',
        { baseDir: QUICKSTART },
      ),
    );
    const ask = async (body: string) =>
      (
        await tagged.app.inject({
          method: 'POST',
          url: '/rabbitmq/user',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: body,
        })
      ).body;
    expect(await ask('username=demo&password=demo-password&vhost=%2F&client_id=demo')).toBe(
      'allow management monitoring',
    );
    expect(await ask('username=admin&password=admin-password&vhost=%2F&client_id=admin')).toBe('allow');
    expect(await ask('username=demo&password=wrong&vhost=%2F')).toBe('deny');
    await tagged.close();
  });

  it('answers unknown paths with a 404 JSON error', async () => {
    const res = await fetch(`${base}/nope?password=x`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'ERR_NOT_FOUND', message: 'no endpoint GET /nope' });
  });

  it('answers /healthz, /readyz and Prometheus /metrics with decisions, latency and cache ratio', async () => {
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const metrics = { headers: { authorization: 'Bearer metrics-token' } };
    const text = await (await fetch(`${base}/metrics`, metrics)).text();
    expect(text).toMatch(
      /mqtt_warden_decisions_total\{adapter="emqx",action="publish",result="allow"\} [1-9]/,
    );
    expect(text).toMatch(
      /mqtt_warden_decisions_total\{adapter="go-auth",action="subscribe",result="deny"\} 1/,
    );
    expect(text).toMatch(
      /mqtt_warden_request_duration_seconds_count\{adapter="emqx",route="\/emqx\/authz"\} [1-9]/,
    );
    expect(text).toMatch(/mqtt_warden_decision_cache_hit_ratio \d/);
  });

  it('never writes a password to the log, even at trace level and from a GET query string', async () => {
    await fetch(`${base}/emqx/authn?username=demo&password=demo-password&clientid=demo`);
    await post('/emqx/authn', { username: 'demo', password: 'demo-password', clientid: 'demo' });
    await post('/mosquitto/user', { username: 'down', password: 'demo-password', extra: 'demo-password' });
    await new Promise((r) => setTimeout(r, 50));
    expect(logs).toContain('/emqx/authn');
    expect(logs).not.toContain('demo-password');
  });
});

describe('reload', () => {
  it('picks up a changed policy file by itself and a changed users file on reload() (SIGHUP)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-'));
    for (const f of ['policy.yaml', 'users.yaml']) copyFileSync(join(QUICKSTART, f), join(dir, f));
    const server = await createWardenServer(config('silent', dir));
    try {
      // The session whose later authorization requests are asked about.
      await server.app.inject({
        method: 'POST',
        url: '/emqx/authn',
        payload: { username: 'demo', password: 'demo-password', clientid: 'demo-1' },
      });
      const authz = () =>
        server.app.inject({
          method: 'POST',
          url: '/emqx/authz',
          payload: { username: 'demo', clientid: 'demo', action: 'publish', topic: 'broadcast/x' },
        });
      expect((await authz()).json()).toEqual({ result: 'deny' });
      const policy = readFileSync(join(dir, 'policy.yaml'), 'utf8').replace('actions: read', 'actions: all');
      writeFileSync(join(dir, 'policy.yaml'), policy);
      await vi.waitFor(async () => expect((await authz()).json()).toEqual({ result: 'allow' }), {
        timeout: 3000,
        interval: 50,
      });

      writeFileSync(
        join(dir, 'users.yaml'),
        readFileSync(join(dir, 'users.yaml'), 'utf8').replace(/ {2}demo:\n.*\n/, ''),
      );
      await server.reload();
      // The remembered session of a removed user ends with it.
      expect((await authz()).json()).toEqual({ result: 'deny' });
      const login = await server.app.inject({
        method: 'POST',
        url: '/emqx/authn',
        payload: { username: 'demo', password: 'demo-password' },
      });
      expect(login.json()).toEqual({ result: 'deny' });
    } finally {
      await server.close();
    }
  });
});

describe('config', () => {
  it('reports every mistake with file, line and column', () => {
    const text =
      'listen: { port: 99999 }\npolicy: { file: p.yaml }\nauthenticators: [{ type: pasword, file: u.yaml }]\nadapters: { emqx: { acl: some } }\n';
    let message = '';
    try {
      parseServerConfig(text, { file: 'warden.yaml' });
    } catch (error) {
      message = (error as Error).message;
      expect((error as { code?: string }).code).toBe('ERR_CONFIG_INVALID');
    }
    expect(message).toMatch(/warden\.yaml:1:\d+/);
    expect(message).toMatch(/warden\.yaml:3:\d+/);
    expect(message).toMatch(/warden\.yaml:4:\d+/);
  });

  it('refuses unknown keys', () => {
    expect(() =>
      parseServerConfig(
        'policy: { file: p }\nauthenticators: [{ type: password, file: u }]\nlisten: { prot: 1 }\n',
      ),
    ).toThrow(/prot/);
  });
});

describe('TLS', () => {
  it('serves HTTPS with the configured certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const plain = config('silent');
    const server = await createWardenServer({
      ...plain,
      listen: { ...plain.listen, tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') } },
    });
    try {
      const url = await server.listen();
      expect(url).toMatch(/^https:/);
      const body = await new Promise<string>((resolve, reject) => {
        request(`${url}/healthz`, { ca: readFileSync(join(dir, 'cert.pem')) }, (res) => {
          let data = '';
          res.on('data', (c) => (data += c));
          res.on('end', () => resolve(data));
        })
          .on('error', reject)
          .end();
      });
      expect(JSON.parse(body)).toEqual({ status: 'ok' });
    } finally {
      await server.close();
    }
  });
});

describe('mqtt-warden serve', () => {
  it('starts on the quickstart defaults, prints where it listens and a curl line, stops on SIGTERM', async () => {
    // The shipped copy differs only in its editor schema line (onboarding-commands.test.ts checks it).
    const schemaLine = /^# yaml-language-server: .*\n/m;
    expect(readFileSync(QUICKSTART_CONFIG, 'utf8').replace(schemaLine, '')).toBe(
      readFileSync(join(QUICKSTART, 'warden.yaml'), 'utf8').replace(schemaLine, ''),
    );
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const dir = mkdtempSync(join(tmpdir(), 'warden-serve-'));
      const file = join(dir, 'warden.yaml');
      writeFileSync(
        file,
        readFileSync(QUICKSTART_CONFIG, 'utf8')
          .replace('port: 8080', 'port: 0')
          .replace(/file: (\S+)/g, `file: ${QUICKSTART}$1`),
      );
      const exit = run(['--config', file]);
      await vi.waitFor(() =>
        expect(lines.some((l) => l.startsWith('mqtt-warden listening on http://127.0.0.1:'))).toBe(true),
      );
      const url = /on (\S+)/.exec(lines[0] ?? '')?.[1];
      expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
      process.emit('SIGTERM');
      expect(await exit).toBe(0);
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    } finally {
      log.mockRestore();
      write.mockRestore();
    }
  });

  it('fails with exit code 2 and a located message on a bad config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-bad-'));
    writeFileSync(join(dir, 'w.yaml'), 'policy: 3\n');
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await run(['--config', join(dir, 'w.yaml')])).toBe(2);
      expect(String(error.mock.calls[0]?.[0])).toMatch(/w\.yaml:1:/);
    } finally {
      error.mockRestore();
    }
  });
});

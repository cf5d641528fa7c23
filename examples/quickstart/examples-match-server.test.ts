import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createWardenServer, loadServerConfig, type WardenServer } from '@mqtt-warden/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** The broker examples must talk to the quickstart server as configured: same paths, same modes. */
describe('examples match the server defaults', () => {
  let server: WardenServer;
  beforeAll(async () => {
    const config = await loadServerConfig(here('warden.yaml'));
    server = await createWardenServer({ ...config, log: { ...config.log, level: 'silent' } });
  });
  afterAll(() => server.close());

  it('emqx.conf: its authn/authz URLs and body templates are answered by the server', async () => {
    const conf = readFileSync(here('../emqx/emqx.conf'), 'utf8');
    const urls = [...conf.matchAll(/url = "http:\/\/127\.0\.0\.1:8080(\/[^"]+)"/g)].map((m) => m[1]);
    expect(urls).toEqual(['/emqx/authn', '/emqx/authz']);
    expect(conf).toMatch(/no_match = deny/);
    // Render the example's body templates as EMQX would.
    const [authnPart, authzPart] = conf.split('authorization {');
    const bodies = [authnPart, authzPart].map((part) =>
      Object.fromEntries(
        [...(part ?? '').matchAll(/^\s+"?([\w.]+)"? = "\$\{([\w.]+)\}"$/gm)].map(([, k, v]) => [k, v]),
      ),
    );
    const values: Record<string, string> = {
      username: 'demo',
      password: 'demo-password',
      clientid: 'demo',
      peerhost: '127.0.0.1',
      topic: 'devices/demo/t',
      action: 'publish',
      qos: '1',
      retain: 'false',
    };
    const render = (b: Record<string, string>) =>
      Object.fromEntries(Object.entries(b).map(([k, v]) => [k, values[v] ?? '']));
    const authn = await server.app.inject({ method: 'POST', url: urls[0], payload: render(bodies[0] ?? {}) });
    expect(authn.json()).toMatchObject({ result: 'allow', is_superuser: false });
    // EMQX keeps the authn reply's client_attrs for the session and renders them into the authz body.
    values['client_attrs.warden_session'] = authn.json().client_attrs.warden_session;
    expect(bodies[1]).toHaveProperty(['client_attrs.warden_session'], 'client_attrs.warden_session');
    server.directory.clear(); // as after a restart: the ticket alone brings the session back
    const authz = await server.app.inject({ method: 'POST', url: urls[1], payload: render(bodies[1] ?? {}) });
    expect(authz.json()).toEqual({ result: 'allow' });
  });

  it('mosquitto.conf: go-auth URIs and response mode match the quickstart server', async () => {
    const conf = readFileSync(here('../mosquitto-go-auth/mosquitto.conf'), 'utf8');
    const opt = (name: string) => new RegExp(`^auth_opt_${name} (\\S+)$`, 'm').exec(conf)?.[1];
    expect(opt('http_response_mode')).toBe('json');
    const user = await server.app.inject({
      method: 'POST',
      url: opt('http_getuser_uri'),
      payload: { clientid: 'demo', password: 'demo-password', username: 'demo' },
    });
    expect(user.json()).toEqual({ ok: true, error: '' });
    // go-auth asks "superuser?" with a username only: answered from admin's own session.
    await server.app.inject({
      method: 'POST',
      url: opt('http_getuser_uri'),
      payload: { clientid: 'admin-1', password: 'admin-password', username: 'admin' },
    });
    const su = await server.app.inject({
      method: 'POST',
      url: opt('http_superuser_uri'),
      payload: { username: 'admin' },
    });
    expect(su.json()).toEqual({ ok: true, error: '' });
    const acl = await server.app.inject({
      method: 'POST',
      url: opt('http_aclcheck_uri'),
      payload: { acc: 2, clientid: 'demo', topic: 'devices/demo-2/t', username: 'demo' },
    });
    expect(acl.json()).toEqual({ ok: false, error: 'not authorized' });
  });

  it('rabbitmq.conf: its paths are the server defaults', async () => {
    const conf = readFileSync(here('../rabbitmq/rabbitmq.conf'), 'utf8');
    const paths = [...conf.matchAll(/auth_http\.(\w+)_path = http:\/\/127\.0\.0\.1:8080(\S+)/g)].map((m) => [
      m[1],
      m[2],
    ]);
    expect(paths).toEqual([
      ['user', '/rabbitmq/user'],
      ['vhost', '/rabbitmq/vhost'],
      ['resource', '/rabbitmq/resource'],
      ['topic', '/rabbitmq/topic'],
    ]);
    const user = await server.app.inject({
      method: 'POST',
      url: paths[0]?.[1],
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'username=demo&password=demo-password&vhost=%2F&client_id=demo',
    });
    expect(user.body).toBe('allow');
  });
});

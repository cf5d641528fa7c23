import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryRegistry } from '@mqtt-warden/registry';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBrokerConnectors } from '../src/broker-connectors.js';
import { parseServerConfig } from '../src/server-config.js';

const BASE =
  'listen: { host: 127.0.0.1, port: 0 }\npolicy: { file: policy.yaml }\nauthenticators: [{ type: password, file: users.yaml }]\n';
const context = { actor: 'test' };

describe('connectors: in the server config', () => {
  it('reads secrets in the usual forms and never prints them', () => {
    process.env.TEST_EMQX_SECRET = 'emqx-secret-value';
    const config = parseServerConfig(
      `${BASE}connectors:\n  rabbitmq: { url: 'http://127.0.0.1:15672/', username: warden, password: rabbit-secret-value }\n  emqx: { url: 'http://127.0.0.1:18083/', apiKey: key, apiSecret: { env: TEST_EMQX_SECRET } }\n`,
      { baseDir: '/tmp' },
    );
    const printed = JSON.stringify(config);
    expect(printed).not.toContain('rabbit-secret-value');
    expect(printed).not.toContain('emqx-secret-value');
    expect(config.connectors?.emqx?.apiKey).toBe('key');
  });

  it('refuses a URL that is not http(s), with its location', () => {
    expect(() =>
      parseServerConfig(`${BASE}connectors:\n  emqx: { url: 'ftp://x/', apiKey: k, apiSecret: s }\n`, {
        file: 'warden.yaml',
      }),
    ).toThrow(/warden\.yaml:5:.*http:\/\/ or https:\/\//s);
  });
});

describe('startBrokerConnectors', () => {
  let server: Server;
  let url: string;
  const seen: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization}`);
      res.writeHead(204);
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('is off without connectors', async () => {
    expect(await startBrokerConnectors(undefined, new MemoryRegistry(), console)).toBeUndefined();
  });

  it('kicks a disabled device on EMQX from the change feed and counts the call in the metrics', async () => {
    const config = parseServerConfig(
      `${BASE}connectors:\n  emqx: { url: '${url}', apiKey: key, apiSecret: secret }\n`,
      { baseDir: '/tmp' },
    );
    const store = new MemoryRegistry();
    await store.createDevice({ id: 'sensor-1' }, context);
    const metrics = new Registry();
    const feed = await startBrokerConnectors(config.connectors, store, console, metrics);
    await store.updateDevice('sensor-1', { enabled: false }, context);
    await feed?.idle();
    expect(seen).toEqual([
      `DELETE /api/v5/clients/sensor-1 Basic ${Buffer.from('key:secret').toString('base64')}`,
    ]);
    expect(await metrics.metrics()).toMatch(/mqtt_warden_connector_jobs\{result="succeeded"\} 2/);
    feed?.close();
  });
});

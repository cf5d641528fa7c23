/**
 * The RabbitMQ connector against a real private RabbitMQ 3.10 node with rabbitmq_management and
 * rabbitmq_mqtt: devices registered in a registry log in over MQTT through mqtt-warden
 * (auth_backend_http); one is disabled in the registry and the server's `connectors: { rabbitmq }` closes
 * its connection. The management API user is RabbitMQ's internal `guest` (loopback only), which is why
 * `internal` comes first among the node's backends.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConnectorError, createRabbitMqConnector } from '@mqtt-warden/connectors';
import { hashPassword } from '@mqtt-warden/password';
import { MemoryRegistry } from '@mqtt-warden/registry';
import { createWardenServer, parseServerConfig, type WardenServer } from '@mqtt-warden/server';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type RabbitNode, startRabbitNode } from './rabbitmq-node.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const POLICY = `version: 1
roles:
  device:
    clientIds: '\${username}-*' # the registry binds each device to its one client id as well
    rules: [{ effect: allow, actions: all, topics: 'devices/\${clientid}/#' }]
`;
const context = { actor: 'test' };

describe('RabbitMQ management API connector (real node)', () => {
  let warden: WardenServer;
  let node: RabbitNode | undefined;
  let managementUrl: string;
  const store = new MemoryRegistry();
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-rmq-connector-'));
    writeFileSync(join(dir, 'policy.yaml'), POLICY);
    const cheap = { memoryCost: 256, timeCost: 1 };
    for (const [id, clientId] of [
      ['demo', 'demo-1'],
      ['sensor-1', 'sensor-1-a'],
    ] as const) {
      await store.createDevice({ id, clientIds: [clientId], roles: ['device'] }, context);
      await store.addCredential(
        id,
        { kind: 'password', hash: await hashPassword(`${id}-password`, cheap) },
        context,
      );
    }
    // The node's config names mqtt-warden's URL and the server's config the node's management port.
    const wardenPort = await freePort();
    const wardenUrl = `http://127.0.0.1:${wardenPort}`;
    node = await startRabbitNode({
      dir,
      conf: (ports) =>
        `${readFileSync(join(ROOT, 'examples/rabbitmq/rabbitmq.conf'), 'utf8')
          .replaceAll('http://127.0.0.1:8080', wardenUrl)
          .replace('127.0.0.1:5672', `127.0.0.1:${ports.amqp}`)
          .replace('127.0.0.1:1883', `127.0.0.1:${ports.mqtt}`)
          .replace('auth_backends.1 = http', 'auth_backends.1 = internal\nauth_backends.2 = http')}
management.tcp.ip = 127.0.0.1
management.tcp.port = ${ports.management}
`,
      plugins: ['rabbitmq_management', 'rabbitmq_mqtt', 'rabbitmq_auth_backend_http'],
    });
    managementUrl = `http://127.0.0.1:${node.ports.management}/`;
    warden = await createWardenServer(
      parseServerConfig(
        `listen: { host: 127.0.0.1, port: ${wardenPort} }
log: { level: warn }
policy: { file: policy.yaml }
authenticators: [{ type: password }]
connectors: { rabbitmq: { url: '${managementUrl}', username: guest, password: guest } }
`,
        { baseDir: dir },
      ),
      { registry: store },
    );
    await warden.listen();
  }, 180_000);

  afterAll(async () => {
    for (const client of clients) client.end(true);
    await node?.stop();
    await warden?.close();
  }, 30_000);

  function connect(clientId: string, username: string, password: string): Promise<MqttClient> {
    return new Promise((resolve, reject) => {
      const client = mqtt.connect({
        host: '127.0.0.1',
        port: node?.ports.mqtt,
        protocolVersion: 4,
        clientId,
        username,
        password,
        reconnectPeriod: 0,
        connectTimeout: 10_000,
      });
      clients.push(client);
      client.once('connect', () => resolve(client));
      client.once('error', reject);
    });
  }

  const closed = (client: MqttClient, ms: number) =>
    new Promise<boolean>((resolve) => {
      if (!client.connected) resolve(true);
      const timer = setTimeout(() => resolve(false), ms);
      client.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });

  /** The management API lists a connection a moment after the MQTT CONNACK. */
  async function listed(username: string): Promise<number> {
    const auth = `Basic ${Buffer.from('guest:guest').toString('base64')}`;
    for (let i = 0; i < 50; i++) {
      const response = await fetch(`${managementUrl}api/connections/username/${username}`, {
        headers: { authorization: auth },
      });
      const list = (await response.json()) as unknown[];
      if (list.length > 0) return list.length;
      await new Promise((r) => setTimeout(r, 200));
    }
    return 0;
  }

  it("closes a disabled device's MQTT connection, and only its", async () => {
    const device = await connect('demo-1', 'demo', 'demo-password');
    const other = await connect('sensor-1-a', 'sensor-1', 'sensor-1-password');
    expect(await listed('demo')).toBeGreaterThan(0);
    expect(await listed('sensor-1')).toBeGreaterThan(0);

    await store.updateDevice('demo', { enabled: false }, context);
    expect(await closed(device, 10_000)).toBe(true);
    expect(other.connected).toBe(true);
    // And it cannot log in again.
    await expect(connect('demo-1', 'demo', 'demo-password')).rejects.toThrow();
  });

  it('fails with ERR_CONNECTOR_REQUEST (401) for a wrong management password', async () => {
    const connector = createRabbitMqConnector({ url: managementUrl, username: 'guest', password: 'wrong' });
    const error = await connector
      .disconnect({ username: 'sensor-1', clientIds: [] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ code: 'ERR_CONNECTOR_REQUEST', status: 401 });
  });
});

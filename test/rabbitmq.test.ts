/**
 * A real RabbitMQ 3.10 node (rabbitmq_mqtt + rabbitmq_auth_backend_http) pointed at mqtt-warden,
 * driven by mosquitto_pub/mosquitto_sub and MQTT.js. The node is private: its own name, ports, epmd,
 * data and config in a temp dir (reference/rabbitmq.md §5), started once for the file and stopped by PID.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createWardenServer, parseServerConfig, type WardenServer } from '@mqtt-warden/server';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RabbitNode, startRabbitNode } from './rabbitmq-node.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../', import.meta.url));

const POLICY = `version: 1
users: { demo: [device], sensor-1: [operator] }
roles:
  device:
    clientIds: '\${username}-*' # several clients per user in this test; examples bind exactly
    rules:
      - { effect: allow, actions: all, topics: 'devices/\${clientid}/#' }
      - { effect: allow, actions: read, topics: 'fleet/#' }
  operator:
    clientIds: 'ops-*'
    rules:
      - { effect: allow, actions: publish, topics: 'fleet/#' }
`;

describe('RabbitMQ 3.10 with rabbitmq_auth_backend_http → mqtt-warden', () => {
  let dir: string;
  let warden: WardenServer;
  let node: RabbitNode | undefined;
  let mqttPort: number;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-rmq-'));
    writeFileSync(join(dir, 'policy.yaml'), POLICY);
    copyFileSync(join(ROOT, 'examples/quickstart/users.yaml'), join(dir, 'users.yaml'));
    warden = await createWardenServer(
      parseServerConfig(
        'listen: { host: 127.0.0.1, port: 0 }\nlog: { level: warn }\npolicy: { file: policy.yaml }\nauthenticators: [{ type: password, file: users.yaml }]\n',
        { baseDir: dir },
      ),
    );
    const wardenUrl = await warden.listen();
    node = await startRabbitNode({
      dir,
      // The shipped example, with this run's ports.
      conf: (ports) =>
        readFileSync(join(ROOT, 'examples/rabbitmq/rabbitmq.conf'), 'utf8')
          .replaceAll('http://127.0.0.1:8080', wardenUrl)
          .replace('127.0.0.1:5672', `127.0.0.1:${ports.amqp}`)
          .replace('127.0.0.1:1883', `127.0.0.1:${ports.mqtt}`),
      plugins: readFileSync(join(ROOT, 'examples/rabbitmq/enabled_plugins'), 'utf8')
        .replace(/[[\].\s]/g, '')
        .split(','),
    });
    mqttPort = node.ports.mqtt;
  }, 150_000);

  afterAll(async () => {
    for (const client of clients) client.end(true);
    await node?.stop();
    await warden?.close();
  }, 30_000);

  function connect(clientId: string, username: string, password: string): Promise<MqttClient> {
    return new Promise((resolve, reject) => {
      const client = mqtt.connect({
        host: '127.0.0.1',
        port: mqttPort,
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
      client.once('close', () => reject(new Error('closed before CONNACK')));
    });
  }

  /** Resolves with what happened first: the ack, or the broker closing the connection. */
  function outcome<T>(
    client: MqttClient,
    start: (done: (v: T | 'closed') => void) => void,
  ): Promise<T | 'closed'> {
    return new Promise((resolve) => {
      client.once('close', () => resolve('closed'));
      start(resolve);
    });
  }

  async function mosquitto(tool: 'mosquitto_pub' | 'mosquitto_sub', args: string[]) {
    try {
      const { stdout, stderr } = await run(
        tool,
        ['-h', '127.0.0.1', '-p', String(mqttPort), '-V', 'mqttv311', ...args],
        { timeout: 20_000 },
      );
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }

  it('delivers an allowed publish (mosquitto_pub → MQTT.js subscriber; MQTT.js to itself)', async () => {
    const sub = await connect('demo-1', 'demo', 'demo-password');
    const granted = await sub.subscribeAsync(['fleet/#', 'devices/demo-1/#'], { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1, 1]);
    const received: string[] = [];
    const two = new Promise<void>((resolve) => {
      sub.on('message', (topic, payload) => {
        received.push(`${topic} ${payload}`);
        if (received.length === 2) resolve();
      });
    });
    const pub = await mosquitto('mosquitto_pub', [
      '-u',
      'sensor-1',
      '-P',
      'sensor-password',
      '-i',
      'ops-1',
      '-q',
      '1',
      '-t',
      'fleet/a',
      '-m',
      'hello',
    ]);
    expect(pub.code).toBe(0);
    await sub.publishAsync('devices/demo-1/t', 'own', { qos: 1 });
    await two;
    expect(received.sort()).toEqual(['devices/demo-1/t own', 'fleet/a hello']);
  });

  it('refuses a wrong password and an unknown user with CONNACK 4', async () => {
    const bad = await mosquitto('mosquitto_pub', [
      '-u',
      'demo',
      '-P',
      'wrong',
      '-i',
      'x1',
      '-t',
      'devices/x1/t',
      '-m',
      'x',
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/bad user name or password/i);
    await expect(connect('x2', 'mallory', 'whatever')).rejects.toMatchObject({ code: 4 });
  });

  it('closes the connection on a denied publish and does not deliver it', async () => {
    const watcher = await connect('demo-w', 'demo', 'demo-password');
    await watcher.subscribeAsync('devices/demo-w/#', { qos: 1 });
    const seen: string[] = [];
    watcher.on('message', (topic) => seen.push(topic));
    const ops = await connect('ops-2', 'sensor-1', 'sensor-password');
    const result = await outcome(ops, (done) =>
      ops.publish('devices/demo-w/t', 'forged', { qos: 1 }, () => done('acked')),
    );
    expect(result).toBe('closed');
    const cli = await mosquitto('mosquitto_pub', [
      '-u',
      'demo',
      '-P',
      'demo-password',
      '-i',
      'demo-3',
      '-q',
      '1',
      '-t',
      'fleet/x',
      '-m',
      'no',
    ]);
    expect(cli.code).not.toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toEqual([]);
  });

  it('closes the connection on a denied subscribe (no SUBACK in 3.10)', async () => {
    const client = await connect('demo-4', 'demo', 'demo-password');
    const result = await outcome(client, (done) =>
      client.subscribe('devices/#', { qos: 0 }, () => done('subacked')),
    );
    expect(result).toBe('closed');
    const cli = await mosquitto('mosquitto_sub', [
      '-u',
      'demo',
      '-P',
      'demo-password',
      '-i',
      'demo-5',
      '-t',
      'fleet/#',
      '-t',
      'devices/demo-1/#',
      '-C',
      '1',
      '-W',
      '3',
    ]);
    expect(cli.code).not.toBe(0);
    expect(cli.stdout).toBe('');
  });
});

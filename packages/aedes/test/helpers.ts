/**
 * Test helpers shared by this package's tests and the root wire tests (test/aedes*.test.ts):
 * a real Aedes broker on ephemeral loopback ports, MQTT.js clients observed through raw packets,
 * and certificates made with the openssl CLI.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { Aedes, type AedesOptions, type Client } from 'aedes';
import mqtt, { type IClientOptions, type MqttClient, type Packet } from 'mqtt';
import { createWebSocketStream, WebSocketServer } from 'ws';

export interface TestBroker {
  readonly broker: Aedes;
  /** Listening ports by transport name. */
  readonly ports: Record<string, number>;
  close(): Promise<void>;
}

export interface Listeners {
  tcp?: boolean;
  /** TLS listeners by name (their port is `ports[name]`): mutual TLS, PSK, whatever node:tls takes. */
  tls?: Record<string, TlsOptions>;
  ws?: boolean;
}

/** An Aedes broker with the given options, served on 127.0.0.1 ephemeral ports. */
export async function startBroker(
  options: AedesOptions,
  listeners: Listeners = { tcp: true },
): Promise<TestBroker> {
  const broker = await Aedes.createBroker(options);
  const servers: { close(cb: () => void): void }[] = [];
  const ports: Record<string, number> = {};
  const listen = async (name: string, server: Server | ReturnType<typeof createHttpServer>) => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    ports[name] = (server.address() as AddressInfo).port;
  };
  if (listeners.tcp) await listen('tcp', createNetServer(broker.handle));
  for (const [name, options] of Object.entries(listeners.tls ?? {})) {
    await listen(name, createTlsServer(options, broker.handle));
  }
  if (listeners.ws) {
    const http = createHttpServer();
    const wss = new WebSocketServer({ server: http });
    wss.on('connection', (socket, req) => broker.handle(createWebSocketStream(socket), req));
    servers.push(wss);
    await listen('ws', http);
  }
  return {
    broker,
    ports,
    async close() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      for (const server of servers.reverse()) {
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}

/** The broker's connected client with this id (Aedes keeps them in `broker.clients`, which its types omit). */
export function connectedClient(broker: Aedes, id: string): Client {
  const client = (broker as unknown as { clients: Record<string, Client | undefined> }).clients[id];
  if (!client) throw new Error(`no connected client ${id}`);
  return client;
}

/** A client and the outcome of its CONNECT, as the client saw it. */
export interface Connected {
  readonly client: MqttClient;
  /** CONNACK return code, or `closed` when the broker closed without CONNACK. */
  readonly returnCode: number | 'closed';
  /** Raw packets received, in order. */
  readonly packets: Packet[];
  /** Resolves when the connection closes. */
  readonly closed: Promise<void>;
}

/** Connects with MQTT.js (no reconnect) and reports the raw CONNACK return code. */
export function connect(url: string, options: IClientOptions = {}): Promise<Connected> {
  const client = mqtt.connect(url, {
    reconnectPeriod: 0,
    connectTimeout: 5000,
    protocolVersion: 4,
    ...options,
  });
  const packets: Packet[] = [];
  client.on('packetreceive', (packet) => packets.push(packet));
  // MQTT.js reports a refused CONNACK as an error; the raw packet carries the code.
  client.on('error', () => {});
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  return new Promise((resolve) => {
    const done = (returnCode: number | 'closed') => resolve({ client, returnCode, packets, closed });
    client.on('packetreceive', (packet) => {
      if (packet.cmd === 'connack') done(packet.returnCode ?? 0);
    });
    client.once('close', () => done('closed'));
  });
}

/** Subscribes and returns the granted codes of the raw SUBACK (0x80 = refused). */
export async function subscribeRaw(
  connected: Connected,
  filters: Record<string, { qos: 0 | 1 | 2 }>,
): Promise<number[]> {
  const seen = connected.packets.length;
  await new Promise<void>((resolve) => connected.client.subscribe(filters, () => resolve()));
  const suback = connected.packets.slice(seen).find((packet) => packet.cmd === 'suback');
  if (suback?.cmd !== 'suback') throw new Error('no SUBACK received');
  return suback.granted as number[];
}

/** Collects `topic → payload` of every message the client receives. */
export function collect(client: MqttClient): { topic: string; payload: string; retain: boolean }[] {
  const messages: { topic: string; payload: string; retain: boolean }[] = [];
  client.on('message', (topic, payload, packet) =>
    messages.push({ topic, payload: payload.toString(), retain: packet.retain }),
  );
  return messages;
}

/**
 * Publishes; resolves undefined once acknowledged (or sent, for QoS 0), or an error when the broker
 * closes the connection first (MQTT.js without reconnect never calls back for an unacked QoS > 0).
 */
export function publish(
  client: MqttClient,
  topic: string,
  payload: string,
  options: { qos?: 0 | 1 | 2; retain?: boolean } = {},
) {
  return new Promise<Error | undefined>((resolve) => {
    const onClose = () => resolve(new Error('connection closed'));
    client.once('close', onClose);
    client.publish(topic, payload, { qos: options.qos ?? 1, retain: options.retain ?? false }, (error) => {
      client.removeListener('close', onClose);
      resolve(error ?? undefined);
    });
  });
}

export async function end(connected: Connected): Promise<void> {
  await new Promise<void>((resolve) => connected.client.end(true, {}, () => resolve()));
}

export const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A CA and certificates signed by it, made with openssl; PEM strings. */
export interface Pki {
  readonly ca: string;
  readonly caKey: string;
  readonly server: { cert: string; key: string };
  /** Issues a client certificate with this subject CN (and optional SAN URI). */
  client(cn: string, options?: { uri?: string; days?: number }): { cert: string; key: string };
  dispose(): void;
}

export function createPki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'warden-aedes-pki-'));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=warden test CA',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  let serial = 0;
  const issue = (name: string, subject: string, extensions: string, days = 2) => {
    writeFileSync(file(`${name}.ext`), extensions);
    openssl(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      subject,
      '-keyout',
      file(`${name}.key`),
      '-out',
      file(`${name}.csr`),
    );
    openssl(
      'x509',
      '-req',
      '-in',
      file(`${name}.csr`),
      '-CA',
      file('ca.pem'),
      '-CAkey',
      file('ca.key'),
      '-set_serial',
      String(++serial + 1000),
      '-days',
      String(days),
      '-extfile',
      file(`${name}.ext`),
      '-out',
      file(`${name}.pem`),
    );
    return {
      cert: readFileSync(file(`${name}.pem`), 'utf8'),
      key: readFileSync(file(`${name}.key`), 'utf8'),
    };
  };
  const server = issue(
    'server',
    '/CN=localhost',
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n',
  );
  return {
    ca: readFileSync(file('ca.pem'), 'utf8'),
    caKey: readFileSync(file('ca.key'), 'utf8'),
    server,
    client: (cn, options = {}) =>
      issue(
        `client${serial}`,
        `/CN=${cn}`,
        `extendedKeyUsage=clientAuth\n${options.uri ? `subjectAltName=URI:${options.uri}\n` : ''}`,
        options.days,
      ),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

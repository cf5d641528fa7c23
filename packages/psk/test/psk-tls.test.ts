import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer as createNetServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ConnectionOptions,
  createServer,
  type Server,
  type TLSSocket,
  connect as tlsConnect,
} from 'node:tls';
import { createGuard } from '@mqtt-warden/core';
import { Aedes } from 'aedes';
import mqtt, { type IClientOptions } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPskAuthenticator,
  createPskCallback,
  PskStore,
  parseMosquittoPskFile,
  pskIdentityOf,
} from '../src/index.js';

const KEY_HEX = '8d4f1c2a9b3e7f60a1b2c3d4e5f60718293a4b5c6d7e8f9011223344556677aa';
const store = new PskStore([
  ['sensor-1', Buffer.from(KEY_HEX, 'hex')],
  ['sensor-2', Buffer.from('00112233445566778899aabbccddeeff', 'hex')],
]);
const WRONG_HEX = KEY_HEX.replace(/^8d/, '8e');

let broker: Aedes;
let server: Server;
let port: number;
const connacks: number[] = [];

beforeAll(async () => {
  broker = await Aedes.createBroker();
  const guard = createGuard({
    authenticators: [createPskAuthenticator({ keys: store, requireClientIdMatch: true })],
    authorizer: { authorize: () => ({ allowed: true, reason: 'default' }) },
  });
  // The small Aedes hook that an adapter would provide: neutral request in, CONNACK code out.
  broker.authenticate = (client, username, password, done) => {
    const conn = client.conn as TLSSocket;
    guard
      .authenticate({
        clientId: client.id,
        username,
        password,
        transport: { tls: true, remoteAddress: conn.remoteAddress, pskIdentity: pskIdentityOf(conn) },
      })
      .then(
        (result) => {
          if (result.ok) return done(null, true);
          const returnCode = result.reason === 'bad-credentials' ? 4 : 5;
          connacks.push(returnCode);
          done(Object.assign(new Error(result.message), { returnCode }), false);
        },
        (error: Error) => done(Object.assign(error, { returnCode: 5 as const }), false),
      );
  };
  server = createServer(
    {
      pskCallback: createPskCallback(store),
      ciphers: 'PSK-AES128-GCM-SHA256',
      pskIdentityHint: 'mqtt-warden',
    },
    broker.handle,
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await new Promise<void>((resolve) => broker.close(() => resolve()));
});

function mosquittoPub(identity: string, keyHex: string, clientId = identity) {
  const args = ['-h', '127.0.0.1', '-p', String(port), '--psk-identity', identity, '--psk', keyHex];
  args.push('-i', clientId, '-t', `devices/${clientId}/up`, '-m', 'hello', '-q', '1');
  return new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile('mosquitto_pub', args, { timeout: 10_000 }, (error, _stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stderr }),
    );
  });
}

async function mqttJs(identity: string, keyHex: string, clientId = identity) {
  // MQTT.js hands its options to tls.connect, but IClientOptions does not declare the TLS-PSK ones.
  const options: IClientOptions & Pick<ConnectionOptions, 'ciphers' | 'pskCallback'> = {
    protocol: 'mqtts',
    host: '127.0.0.1',
    port,
    clientId,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    ciphers: 'PSK-AES128-GCM-SHA256',
    pskCallback: () => ({ identity, psk: Buffer.from(keyHex, 'hex') }),
    // A PSK connection has no certificate; the shared key authenticates the server instead.
    rejectUnauthorized: false,
  };
  const client = mqtt.connect(options);
  return new Promise<boolean>((resolve) => {
    let connected = false;
    client.on('connect', () => {
      connected = true;
      client.end();
    });
    client.on('error', () => client.end(true));
    client.on('close', () => resolve(connected));
  });
}

describe('TLS-PSK listener on a real Aedes broker', () => {
  it('accepts mosquitto_pub with the right identity and key', async () => {
    const result = await mosquittoPub('sensor-1', KEY_HEX);
    expect(result).toEqual({ code: 0, stderr: '' });
  });

  it('refuses mosquitto_pub with a wrong key or an unknown identity (TLS handshake fails)', async () => {
    const before = connacks.length;
    expect((await mosquittoPub('sensor-1', WRONG_HEX)).code).not.toBe(0);
    expect((await mosquittoPub('nobody', KEY_HEX)).code).not.toBe(0);
    // Refused at the TLS layer: the broker never saw a CONNECT.
    expect(connacks.length).toBe(before);
  });

  it('accepts MQTT.js with the right key and refuses a wrong key or unknown identity', async () => {
    expect(await mqttJs('sensor-2', '00112233445566778899aabbccddeeff')).toBe(true);
    expect(await mqttJs('sensor-2', 'ff112233445566778899aabbccddeeff')).toBe(false);
    expect(await mqttJs('stranger', '00112233445566778899aabbccddeeff')).toBe(false);
  });

  it('refuses with CONNACK 5 when the client id is not the PSK identity', async () => {
    const before = connacks.length;
    expect((await mosquittoPub('sensor-1', KEY_HEX, 'sensor-2')).code).not.toBe(0);
    expect(connacks.slice(before)).toEqual([5]);
  });

  it('refuses an identity deleted from the store', async () => {
    const removed = new PskStore([['gone', Buffer.from(KEY_HEX, 'hex')]]);
    const authenticator = createPskAuthenticator({ keys: removed });
    removed.delete('gone');
    const outcome = await authenticator.authenticate({
      clientId: 'gone',
      transport: { tls: true, pskIdentity: 'gone' },
    });
    expect(outcome).toMatchObject({ outcome: 'deny', reason: 'not-authorized' });
    expect(await authenticator.authenticate({ clientId: 'x', transport: { tls: true } })).toEqual({
      outcome: 'ignore',
    });
  });
});

// The odd-length rule checked against the real thing: a Mosquitto broker reading the same psk_file
// (Debian package `mosquitto`; skipped where only the clients are installed).
const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((path) => existsSync(path));

describe.skipIf(!MOSQUITTO)('parseMosquittoPskFile against a real Mosquitto broker', () => {
  let mosquitto: ChildProcess;
  let dir: string;
  let mosquittoPort: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'warden-psk-'));
    // Mosquitto started as root drops to the `mosquitto` user, which must be able to read the files.
    await chmod(dir, 0o755);
    mosquittoPort = await freePort();
    await writeFile(join(dir, 'psk'), 'easy:12345\nzero:000abc\n', { mode: 0o644 });
    await writeFile(
      join(dir, 'mosquitto.conf'),
      `listener ${mosquittoPort} 127.0.0.1\npsk_hint hint\npsk_file ${join(dir, 'psk')}\nallow_anonymous true\n`,
    );
    mosquitto = spawn(MOSQUITTO!, ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
    await waitForPort(mosquittoPort);
  });

  afterAll(async () => {
    const exited = new Promise((resolve) => mosquitto.once('exit', resolve));
    mosquitto.kill();
    await exited;
    await rm(dir, { recursive: true, force: true });
  });

  function handshake(identity: string, psk: Uint8Array) {
    return new Promise<boolean>((resolve) => {
      const socket = tlsConnect({
        host: '127.0.0.1',
        port: mosquittoPort,
        ciphers: 'PSK-AES128-GCM-SHA256',
        maxVersion: 'TLSv1.2',
        pskCallback: () => ({ identity, psk }),
        // No certificate to match a host name against: the PSK authenticates the server.
        checkServerIdentity: () => undefined,
      });
      socket.on('secureConnect', () => {
        // Mosquitto finishes its side only after reading our Finished; an MQTT CONNECT proves the session.
        socket.write(Buffer.from('101000044d5154540402003c000474657374', 'hex'));
        socket.once('data', (connack) => {
          socket.destroy();
          resolve(connack.toString('hex') === '20020000');
        });
      });
      socket.on('error', () => resolve(false));
      socket.on('close', () => resolve(false));
    });
  }

  it('uses the same key bytes as Mosquitto for odd-length and zero-prefixed keys', async () => {
    const keys = parseMosquittoPskFile('easy:12345\nzero:000abc\n');
    expect(await handshake('easy', keys.get('easy')!)).toBe(true);
    expect(await handshake('zero', keys.get('zero')!)).toBe(true);
    // The naive readings of the same hex fail against Mosquitto.
    expect(await handshake('easy', Buffer.from('123450', 'hex'))).toBe(false);
    expect(await handshake('zero', Buffer.from('000abc', 'hex').subarray(1))).toBe(false);
  });
});

async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port: free } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return free;
}

async function waitForPort(target: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = netConnect(target, '127.0.0.1');
      socket.on('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`mosquitto did not listen on ${target}`);
}

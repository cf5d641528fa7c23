import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { createGuard } from '@mqtt-warden/core';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CrlSource,
  createCertificateVerifier,
  createX509Authenticator,
  peerCertificateChain,
} from '../src/index.js';
import { createCa, createCrl, HOUR_MS, type Issued, issueDevice, x509 } from './pki.js';

// Design under test: the TLS server requests a client certificate but lets every handshake finish
// (rejectUnauthorized: false); the x509 authenticator decides in Aedes' authenticate hook, so a bad
// certificate gets a CONNACK with a reason (4 bad credentials, 5 not authorized, 3 unavailable).

let broker: Aedes;
let server: Server;
let crls: CrlSource;
let port: number;
let dir: string;
let root: Issued;
const devices: Record<string, { chain: string; key: string }> = {};

beforeAll(async () => {
  root = await createCa('Root CA');
  const intermediate = await createCa('Devices CA', { issuer: root, pathLength: 0 });
  const otherRoot = await createCa('Other CA');
  const serverCert = await issueDevice(root, 'broker', {
    eku: [x509.ExtendedKeyUsage.serverAuth],
    san: [{ type: 'ip', value: '127.0.0.1' }],
  });
  const issued: Record<string, [Issued, Issued?]> = {
    'device-1': [await issueDevice(intermediate, 'device-1'), intermediate],
    expired: [
      await issueDevice(intermediate, 'expired', { notAfter: new Date(Date.now() - HOUR_MS) }),
      intermediate,
    ],
    future: [
      await issueDevice(intermediate, 'future', { notBefore: new Date(Date.now() + HOUR_MS) }),
      intermediate,
    ],
    'wrong-eku': [
      await issueDevice(intermediate, 'wrong-eku', { eku: [x509.ExtendedKeyUsage.serverAuth] }),
      intermediate,
    ],
    revoked: [await issueDevice(intermediate, 'revoked'), intermediate],
    foreign: [await issueDevice(otherRoot, 'foreign')],
  };
  dir = await mkdtemp(join(tmpdir(), 'warden-mtls-'));
  await writeFile(join(dir, 'root.pem'), root.pem);
  for (const [name, [leaf, issuer]] of Object.entries(issued)) {
    devices[name] = { chain: leaf.pem + (issuer?.pem ?? ''), key: leaf.keyPem };
    await writeFile(join(dir, `${name}.pem`), devices[name].chain);
    await writeFile(join(dir, `${name}.key`), leaf.keyPem, { mode: 0o600 });
  }
  crls = await CrlSource.create({
    crls: [
      (await createCrl(root, [])).toString('pem'),
      (await createCrl(intermediate, [issued.revoked![0]])).toString('pem'),
    ],
    refreshIntervalMs: 0,
  });
  const verifier = createCertificateVerifier({ trustAnchors: [root.pem], revocation: { crls } });
  const guard = createGuard({
    authenticators: [createX509Authenticator({ verifier, idFrom: 'cn', requireClientIdMatch: 'cn' })],
    authorizer: { authorize: () => ({ allowed: true, reason: 'default' }) },
  });

  broker = await Aedes.createBroker();
  // The small Aedes hook that an adapter would provide.
  broker.authenticate = (client, username, password, done) => {
    const conn = client.conn as TLSSocket;
    guard
      .authenticate({
        clientId: client.id,
        username,
        password,
        transport: {
          tls: true,
          remoteAddress: conn.remoteAddress,
          peerCertificates: peerCertificateChain(conn),
        },
      })
      .then(
        (result) => {
          if (result.ok) return done(null, true);
          const returnCode =
            result.reason === 'bad-credentials' ? 4 : result.reason === 'unavailable' ? 3 : 5;
          done(Object.assign(new Error(result.message), { returnCode }), false);
        },
        (error: Error) => done(Object.assign(error, { returnCode: 5 as const }), false),
      );
  };
  server = createServer(
    {
      key: serverCert.keyPem,
      cert: serverCert.pem,
      ca: [root.pem],
      requestCert: true,
      rejectUnauthorized: false,
    },
    broker.handle,
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await new Promise<void>((resolve) => broker.close(() => resolve()));
  crls.close();
  await rm(dir, { recursive: true, force: true });
});

/** The CONNACK return code MQTT.js received, or undefined when there was none. */
function mqttJsConnack(name: string | undefined, clientId = name ?? 'anonymous') {
  const client = mqtt.connect({
    protocol: 'mqtts',
    host: '127.0.0.1',
    port,
    clientId,
    ca: root.pem,
    ...(name ? { cert: devices[name]!.chain, key: devices[name]!.key } : {}),
    reconnectPeriod: 0,
    connectTimeout: 5_000,
  });
  return new Promise<number | undefined>((resolve) => {
    let code: number | undefined;
    client.on('packetreceive', (packet) => {
      if (packet.cmd === 'connack') code = packet.returnCode;
    });
    client.on('connect', () => client.end());
    client.on('error', () => client.end(true));
    client.on('close', () => resolve(code));
  });
}

function mosquittoPub(name: string, clientId = name) {
  const args = ['-h', '127.0.0.1', '-p', String(port), '--cafile', join(dir, 'root.pem')];
  args.push('--cert', join(dir, `${name}.pem`), '--key', join(dir, `${name}.key`));
  args.push('-i', clientId, '-t', `devices/${clientId}/up`, '-m', 'hello');
  return new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile('mosquitto_pub', args, { timeout: 10_000 }, (error, _stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stderr }),
    );
  });
}

describe('mutual TLS to a real Aedes broker', () => {
  it('MQTT.js: CONNACK 0 for a valid certificate chain', async () => {
    expect(await mqttJsConnack('device-1')).toBe(0);
  });

  it.each([
    ['expired', 5],
    ['future', 4],
    ['wrong-eku', 4],
    ['revoked', 4],
    ['foreign', 4],
  ])('MQTT.js: the %s certificate is refused with CONNACK %i', async (name, code) => {
    expect(await mqttJsConnack(name)).toBe(code);
  });

  it('MQTT.js: CONNACK 5 without a client certificate, or with a client id that is not the CN', async () => {
    expect(await mqttJsConnack(undefined)).toBe(5);
    expect(await mqttJsConnack('device-1', 'device-2')).toBe(5);
  });

  it('mosquitto_pub: connects and publishes with a valid certificate chain', async () => {
    expect(await mosquittoPub('device-1')).toEqual({ code: 0, stderr: '' });
  });

  it.each([
    ['expired', 'not authorised'],
    ['wrong-eku', 'bad user name or password'],
    ['revoked', 'bad user name or password'],
    ['foreign', 'bad user name or password'],
  ])('mosquitto_pub: the %s certificate is refused (%s)', async (name, message) => {
    const result = await mosquittoPub(name);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`Connection Refused: ${message}`);
  });

  it('mosquitto_pub: refused when the client id is not the CN', async () => {
    const result = await mosquittoPub('device-1', 'device-2');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('Connection Refused: not authorised');
  });
});

import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { type ConnectRequest, createGuard } from '@mqtt-warden/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connackReturnCode, wardenHooks } from '../src/index.js';
import { connect, createPki, end, type Pki, startBroker, type TestBroker } from './helpers.js';

describe('connackReturnCode', () => {
  it.each([
    ['bad-credentials', 4],
    ['expired', 4],
    ['not-authorized', 5],
    ['no-authenticator', 5],
    ['unavailable', 3],
    ['error', 3],
  ] as const)('%s → %i', (reason, code) => expect(connackReturnCode(reason)).toBe(code));
});

describe('the ConnectRequest built from a real connection', () => {
  const seen: ConnectRequest[] = [];
  const pskKey = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  const identities = new WeakMap<object, string>();
  let pki: Pki;
  let server: TestBroker;

  beforeAll(async () => {
    pki = createPki();
    const guard = createGuard({
      authenticators: [
        {
          name: 'capture',
          authenticate(request) {
            seen.push(request);
            return {
              outcome: 'allow',
              principal: {
                id: 'x',
                clientId: request.clientId,
                method: 'capture',
                roles: [],
                attributes: {},
              },
            };
          },
        },
      ],
      authorizer: { authorize: () => ({ allowed: false, reason: 'default' }) },
    });
    server = await startBroker(
      { ...wardenHooks(guard, { pskIdentityOf: (socket) => identities.get(socket) }) },
      {
        tcp: true,
        ws: true,
        tls: {
          mtls: {
            key: pki.server.key,
            cert: pki.server.cert,
            ca: pki.ca,
            requestCert: true,
            rejectUnauthorized: true,
          },
          psk: {
            ciphers: 'PSK-AES128-GCM-SHA256',
            maxVersion: 'TLSv1.2',
            pskCallback: (socket: TLSSocket, identity: string) => {
              identities.set(socket, identity);
              return identity === 'device-7' ? pskKey : null;
            },
          },
        },
      },
    );
  });
  afterAll(async () => {
    await server.close();
    pki.dispose();
  });

  const last = () => seen.at(-1) as ConnectRequest;

  it('over TCP: client id, username, password bytes, protocol version, address, no TLS', async () => {
    const c = await connect(`mqtt://127.0.0.1:${server.ports.tcp}`, {
      clientId: 'c1',
      username: 'u',
      password: 'p\u00e9',
    });
    expect(c.returnCode).toBe(0);
    expect(last()).toMatchObject({ clientId: 'c1', username: 'u', protocolVersion: 4 });
    expect(Buffer.from(last().password ?? []).toString()).toBe('p\u00e9');
    expect(last().transport).toMatchObject({ tls: false, remoteAddress: '127.0.0.1' });
    expect(last().transport.peerCertificates).toBeUndefined();
    await end(c);
  });

  it('over WebSocket: the address of the upgrade request', async () => {
    const c = await connect(`ws://127.0.0.1:${server.ports.ws}`, { clientId: 'c-ws' });
    expect(c.returnCode).toBe(0);
    expect(last()).toMatchObject({ clientId: 'c-ws', transport: { tls: false, remoteAddress: '127.0.0.1' } });
    await end(c);
  });

  it('over mutual TLS: the client certificate chain as DER, leaf first, and the SNI', async () => {
    const leaf = pki.client('device-42');
    const c = await connect(`mqtts://127.0.0.1:${server.ports.mtls}`, {
      clientId: 'c-tls',
      ca: pki.ca,
      key: leaf.key,
      cert: leaf.cert,
      servername: 'localhost',
    });
    expect(c.returnCode).toBe(0);
    const { transport } = last();
    expect(transport).toMatchObject({ tls: true, remoteAddress: '127.0.0.1', serverName: 'localhost' });
    const chain = transport.peerCertificates ?? [];
    expect(Buffer.from(chain[0] as Uint8Array).equals(new X509Certificate(leaf.cert).raw)).toBe(true);
    expect(new X509Certificate(Buffer.from(chain[0] as Uint8Array)).subject).toBe('CN=device-42');
    await end(c);
  });

  it('over TLS-PSK: the identity recorded by the pskCallback, and no certificates', async () => {
    const c = await connect(`mqtts://127.0.0.1:${server.ports.psk}`, {
      clientId: 'c-psk',
      ciphers: 'PSK-AES128-GCM-SHA256',
      maxVersion: 'TLSv1.2',
      pskCallback: () => ({ identity: 'device-7', psk: pskKey }),
      checkServerIdentity: () => undefined,
    } as Parameters<typeof connect>[1]);
    expect(c.returnCode).toBe(0);
    expect(last().transport).toMatchObject({ tls: true, pskIdentity: 'device-7' });
    expect(last().transport.peerCertificates).toBeUndefined();
    await end(c);
  });
});

import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConnectRequest } from '@mqtt-warden/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CertificateError,
  CrlSource,
  createCertificateVerifier,
  createX509Authenticator,
} from '../src/index.js';
import { createCa, createCrl, type Issued, issueDevice } from './pki.js';

// Property: malformed DER or PEM, a chain longer than allowed and a CRL that cannot be fetched or
// read are each a deny with a typed reason, never an allow (fail closed).

let root: Issued;
let intermediate: Issued;
let device: Issued;
let crlServer: Server;
let crlUrl: string;
let crlReply: { status: number; body: Uint8Array | string } = { status: 404, body: '' };

beforeAll(async () => {
  root = await createCa('Root CA');
  intermediate = await createCa('Devices CA', { issuer: root, pathLength: 0 });
  device = await issueDevice(intermediate, 'device-1');
  crlServer = createServer((_, res) => void res.writeHead(crlReply.status).end(crlReply.body));
  crlServer.listen(0, '127.0.0.1');
  await once(crlServer, 'listening');
  crlUrl = `http://127.0.0.1:${(crlServer.address() as AddressInfo).port}/devices.crl`;
});
afterAll(async () => {
  crlServer.closeAllConnections();
  crlServer.close();
  await once(crlServer, 'close');
});

const connect = (chain: readonly Uint8Array[]): ConnectRequest => ({
  clientId: 'device-1',
  transport: { tls: true, peerCertificates: chain },
});
const verifier = (maxPathLength?: number) =>
  createCertificateVerifier({ trustAnchors: [root.pem], cache: false, maxPathLength });

describe('malformed certificates', () => {
  it.each([
    ['an empty DER', () => [new Uint8Array(0)]],
    ['random bytes', () => [new Uint8Array(Array.from({ length: 300 }, (_, i) => (i * 37) % 256))]],
    ['a truncated leaf', () => [device.der.subarray(0, device.der.length - 20)]],
    [
      'a leaf with a flipped length byte',
      () => [Uint8Array.from(device.der, (b, i) => (i === 2 ? b ^ 0xff : b))],
    ],
    [
      'a valid leaf followed by a garbage intermediate',
      () => [device.der, new Uint8Array([0x30, 0x03, 1, 2, 3])],
    ],
  ])('%s: ERR_CERT_MALFORMED, deny bad-credentials', async (_, chain) => {
    const error = await verifier()
      .verify(chain())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CertificateError);
    expect((error as CertificateError).code).toBe('ERR_CERT_MALFORMED');
    const outcome = await createX509Authenticator({ verifier: verifier() }).authenticate(connect(chain()));
    expect(outcome).toMatchObject({ outcome: 'deny', reason: 'bad-credentials' });
  });

  it('a well-formed chain is allowed (so the refusals above are not vacuous)', async () => {
    const outcome = await createX509Authenticator({ verifier: verifier() }).authenticate(
      connect([device.der, intermediate.der]),
    );
    expect(outcome).toMatchObject({ outcome: 'allow' });
  });
});

describe('chains longer than allowed', () => {
  it('more certificates than the path may hold are refused before any is parsed', async () => {
    const chain = Array.from({ length: 7 }, () => new Uint8Array([0x30, 0x00]));
    const error = await verifier(6)
      .verify(chain)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ERR_CERT_UNTRUSTED',
      message: expect.stringMatching(/more than 6/),
    });
  });

  it('a valid path one CA longer than maxPathLength is refused', async () => {
    const error = await verifier(2)
      .verify([device.der, intermediate.der])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_CERT_UNTRUSTED' });
    const outcome = await createX509Authenticator({ verifier: verifier(2) }).authenticate(
      connect([device.der, intermediate.der]),
    );
    expect(outcome).toMatchObject({ outcome: 'deny', reason: 'bad-credentials' });
  });
});

describe('CRLs that cannot be fetched or read', () => {
  it.each([
    ['HTTP 404', { status: 404, body: '' }],
    ['HTTP 500', { status: 500, body: 'oops' }],
    ['an HTML page', { status: 200, body: '<html>captive portal</html>' }],
    ['garbage bytes', { status: 200, body: new Uint8Array([0x30, 0x82, 0xff, 0xff, 1, 2, 3]) }],
  ])('%s with no CRL loaded before: deny unavailable (ERR_CRL_UNAVAILABLE)', async (_, answer) => {
    crlReply = answer;
    const errors: string[] = [];
    const crls = await CrlSource.create({
      crls: [(await createCrl(root, [])).toString('pem')],
      urls: [crlUrl],
      refreshIntervalMs: 0,
      onError: (e) => errors.push(e.message),
    });
    try {
      expect(errors).toHaveLength(1);
      const v = createCertificateVerifier({ trustAnchors: [root.pem], cache: false, revocation: { crls } });
      const error = await v.verify([device.der, intermediate.der]).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_CRL_UNAVAILABLE' });
      const outcome = await createX509Authenticator({ verifier: v }).authenticate(
        connect([device.der, intermediate.der]),
      );
      expect(outcome).toMatchObject({ outcome: 'deny', reason: 'unavailable' });
    } finally {
      crls.close();
    }
  });

  it('a CRL served correctly lets the same chain in (so the refusals above are not vacuous)', async () => {
    crlReply = { status: 200, body: new Uint8Array((await createCrl(intermediate, [])).rawData) };
    const crls = await CrlSource.create({
      crls: [(await createCrl(root, [])).toString('pem')],
      urls: [crlUrl],
      refreshIntervalMs: 0,
    });
    try {
      const v = createCertificateVerifier({ trustAnchors: [root.pem], cache: false, revocation: { crls } });
      await expect(v.verify([device.der, intermediate.der])).resolves.toBeTruthy();
    } finally {
      crls.close();
    }
  });
});

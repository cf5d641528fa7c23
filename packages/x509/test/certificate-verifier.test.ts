import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@mqtt-warden/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CertificateError,
  type CertificateErrorCode,
  type CertificateVerifierOptions,
  CrlSource,
  createCertificateVerifier,
} from '../src/index.js';
import { createCa, createCrl, HOUR_MS, type Issued, issueDevice, x509 } from './pki.js';

let root: Issued;
let intermediate: Issued;
let otherRoot: Issued;
let device: Issued;
let dir: string;

beforeAll(async () => {
  root = await createCa('Root CA');
  intermediate = await createCa('Devices CA', { issuer: root, pathLength: 0 });
  otherRoot = await createCa('Other CA');
  device = await issueDevice(intermediate, 'device-1');
  dir = await mkdtemp(join(tmpdir(), 'warden-x509-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const verifier = (options: Partial<CertificateVerifierOptions> = {}) =>
  createCertificateVerifier({ trustAnchors: [root.pem], cache: false, ...options });

async function codeOf(promise: Promise<unknown>): Promise<CertificateErrorCode> {
  const error = await promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CertificateError);
  return (error as CertificateError).code;
}

describe('chain verification', () => {
  it('accepts leaf + intermediate leading to a trust anchor', async () => {
    const result = await verifier().verify([device.der, intermediate.der]);
    expect(result.path.map((cert) => cert.subjectName.getField('CN')[0])).toEqual([
      'device-1',
      'Devices CA',
      'Root CA',
    ]);
    expect(result.identity.cn).toEqual(['device-1']);
  });

  it('accepts trust anchors as DER and as a PEM bundle, and ignores a root sent by the client', async () => {
    await expect(
      verifier({ trustAnchors: [otherRoot.der, root.der] }).verify([device.der, intermediate.der]),
    ).resolves.toBeTruthy();
    await expect(
      verifier({ trustAnchors: [otherRoot.pem + root.pem] }).verify([device.der, intermediate.der, root.der]),
    ).resolves.toBeTruthy();
  });

  it('refuses a chain without its intermediate, or signed by another CA', async () => {
    expect(await codeOf(verifier().verify([device.der]))).toBe('ERR_CERT_UNTRUSTED');
    const foreign = await issueDevice(otherRoot, 'device-1');
    expect(await codeOf(verifier().verify([foreign.der]))).toBe('ERR_CERT_UNTRUSTED');
  });

  it('refuses a forged issuer: same name as the trusted CA, different key', async () => {
    const impostor = await createCa('Devices CA', {
      issuer: otherRoot,
      subject: intermediate.cert.subjectName.toJSON(),
    });
    const forged = await issueDevice(impostor, 'device-1');
    expect(await codeOf(verifier().verify([forged.der, impostor.der]))).toBe('ERR_CERT_UNTRUSTED');
    expect(await codeOf(verifier().verify([forged.der, intermediate.der]))).toBe('ERR_CERT_UNTRUSTED');
  });

  it('refuses expired and not-yet-valid certificates, with clock tolerance', async () => {
    const expired = await issueDevice(intermediate, 'old', { notAfter: new Date(Date.now() - HOUR_MS) });
    expect(await codeOf(verifier().verify([expired.der, intermediate.der]))).toBe('ERR_CERT_EXPIRED');
    const future = await issueDevice(intermediate, 'new', { notBefore: new Date(Date.now() + HOUR_MS) });
    expect(await codeOf(verifier().verify([future.der, intermediate.der]))).toBe('ERR_CERT_NOT_YET_VALID');
    const justExpired = await issueDevice(intermediate, 'skew', { notAfter: new Date(Date.now() - 20_000) });
    await expect(verifier().verify([justExpired.der, intermediate.der])).resolves.toBeTruthy();
    expect(await codeOf(verifier({ clockToleranceMs: 0 }).verify([justExpired.der, intermediate.der]))).toBe(
      'ERR_CERT_EXPIRED',
    );
    const expiredCa = await createCa('Old CA', { issuer: root, notAfter: new Date(Date.now() - HOUR_MS) });
    const underExpiredCa = await issueDevice(expiredCa, 'dev');
    expect(await codeOf(verifier().verify([underExpiredCa.der, expiredCa.der]))).toBe('ERR_CERT_EXPIRED');
  });

  it('requires the clientAuth extended key usage on the leaf', async () => {
    const server = await issueDevice(intermediate, 'srv', { eku: [x509.ExtendedKeyUsage.serverAuth] });
    expect(await codeOf(verifier().verify([server.der, intermediate.der]))).toBe('ERR_CERT_USAGE');
    const noEku = await issueDevice(intermediate, 'plain', { eku: null });
    expect(await codeOf(verifier().verify([noEku.der, intermediate.der]))).toBe('ERR_CERT_USAGE');
    await expect(
      verifier({ allowMissingExtendedKeyUsage: true }).verify([noEku.der, intermediate.der]),
    ).resolves.toBeTruthy();
  });

  it('requires digitalSignature on the leaf, and refuses a CA certificate as a client certificate', async () => {
    const encipherOnly = await issueDevice(intermediate, 'enc', {
      keyUsage: x509.KeyUsageFlags.keyEncipherment,
    });
    expect(await codeOf(verifier().verify([encipherOnly.der, intermediate.der]))).toBe('ERR_CERT_USAGE');
    expect(await codeOf(verifier().verify([intermediate.der]))).toBe('ERR_CERT_USAGE');
  });

  it('requires issuers to be CAs allowed to sign certificates, within their path length', async () => {
    // A device certificate used as an issuer.
    const sub = await issueDevice(device, 'sub');
    expect(await codeOf(verifier().verify([sub.der, device.der, intermediate.der]))).toBe('ERR_CERT_USAGE');
    const noCertSign = await createCa('CRL only', { issuer: root, keyUsage: x509.KeyUsageFlags.cRLSign });
    const underIt = await issueDevice(noCertSign, 'dev');
    expect(await codeOf(verifier().verify([underIt.der, noCertSign.der]))).toBe('ERR_CERT_USAGE');
    // Devices CA has pathLength 0: no further CA below it.
    const deeper = await createCa('Deeper CA', { issuer: intermediate });
    const deepDevice = await issueDevice(deeper, 'deep');
    expect(await codeOf(verifier().verify([deepDevice.der, deeper.der, intermediate.der]))).toBe(
      'ERR_CERT_USAGE',
    );
    const notCa = await createCa('Not a CA', { issuer: root, ca: false });
    const underNotCa = await issueDevice(notCa, 'dev');
    expect(await codeOf(verifier().verify([underNotCa.der, notCa.der]))).toBe('ERR_CERT_USAGE');
  });

  it('refuses an unknown critical extension', async () => {
    const odd = await issueDevice(intermediate, 'odd', {
      extensions: [new x509.Extension('1.2.3.4.5', true, new Uint8Array([5, 0]))],
    });
    expect(await codeOf(verifier().verify([odd.der, intermediate.der]))).toBe('ERR_CERT_CRITICAL_EXTENSION');
    const fine = await issueDevice(intermediate, 'fine', {
      extensions: [new x509.Extension('1.2.3.4.5', false, new Uint8Array([5, 0]))],
    });
    await expect(verifier().verify([fine.der, intermediate.der])).resolves.toBeTruthy();
  });

  it('refuses garbage, an empty chain and an over-long chain', async () => {
    expect(await codeOf(verifier().verify([new Uint8Array([0x30, 0x03, 1, 2, 3])]))).toBe(
      'ERR_CERT_MALFORMED',
    );
    expect(await codeOf(verifier().verify([]))).toBe('ERR_CERT_MALFORMED');
    expect(await codeOf(verifier({ maxPathLength: 2 }).verify([device.der, intermediate.der]))).toBe(
      'ERR_CERT_UNTRUSTED',
    );
    expect(() => createCertificateVerifier({ trustAnchors: [] })).toThrow(ConfigError);
  });
});

describe('revocation with CRLs', () => {
  it('refuses a revoked leaf and a revoked intermediate (CRL files)', async () => {
    const revoked = await issueDevice(intermediate, 'revoked');
    await writeFile(join(dir, 'devices.crl'), (await createCrl(intermediate, [revoked])).toString('pem'));
    await writeFile(join(dir, 'root.crl'), Buffer.from((await createCrl(root, [])).rawData));
    const crls = await CrlSource.create({
      files: [join(dir, 'devices.crl'), join(dir, 'root.crl')],
      refreshIntervalMs: 0,
    });
    const v = verifier({ revocation: { crls } });
    await expect(v.verify([device.der, intermediate.der])).resolves.toBeTruthy();
    expect(await codeOf(v.verify([revoked.der, intermediate.der]))).toBe('ERR_CERT_REVOKED');

    const revokedCa = await createCa('Revoked CA', { issuer: root });
    const underRevokedCa = await issueDevice(revokedCa, 'dev');
    const crls2 = await CrlSource.create({
      crls: [
        (await createCrl(root, [revokedCa])).toString('pem'),
        (await createCrl(revokedCa, [])).toString('pem'),
      ],
      refreshIntervalMs: 0,
    });
    expect(
      await codeOf(verifier({ revocation: { crls: crls2 } }).verify([underRevokedCa.der, revokedCa.der])),
    ).toBe('ERR_CERT_REVOKED');
    // Checking only the leaf lets the revoked intermediate through, as configured.
    await expect(
      verifier({ revocation: { crls: crls2, checkIntermediates: false } }).verify([
        underRevokedCa.der,
        revokedCa.der,
      ]),
    ).resolves.toBeTruthy();
  });

  it('fails closed without a CRL for an issuer, or with a stale one, unless told to use stale CRLs', async () => {
    const revoked = await issueDevice(intermediate, 'revoked');
    const onlyRoot = await CrlSource.create({
      crls: [(await createCrl(root, [])).toString('pem')],
      refreshIntervalMs: 0,
    });
    expect(
      await codeOf(verifier({ revocation: { crls: onlyRoot } }).verify([device.der, intermediate.der])),
    ).toBe('ERR_CRL_UNAVAILABLE');
    const stale = await CrlSource.create({
      crls: [
        (await createCrl(root, [])).toString('pem'),
        (
          await createCrl(intermediate, [revoked], {
            thisUpdate: new Date(Date.now() - 3 * HOUR_MS),
            nextUpdate: new Date(Date.now() - HOUR_MS),
          })
        ).toString('pem'),
      ],
      refreshIntervalMs: 0,
    });
    expect(
      await codeOf(verifier({ revocation: { crls: stale } }).verify([device.der, intermediate.der])),
    ).toBe('ERR_CRL_UNAVAILABLE');
    const lenient = verifier({ revocation: { crls: stale, whenUnavailable: 'use-stale' } });
    await expect(lenient.verify([device.der, intermediate.der])).resolves.toBeTruthy();
    expect(await codeOf(lenient.verify([revoked.der, intermediate.der]))).toBe('ERR_CERT_REVOKED');
  });

  it('ignores a CRL that the issuer did not sign', async () => {
    const impostor = await createCa('Devices CA', { subject: intermediate.cert.subjectName.toJSON() });
    const crls = await CrlSource.create({
      crls: [
        (await createCrl(root, [])).toString('pem'),
        (await createCrl(impostor, [device])).toString('pem'),
      ],
      refreshIntervalMs: 0,
    });
    // The forged CRL does not count as the issuer's CRL (fail closed) and does not revoke device-1.
    expect(await codeOf(verifier({ revocation: { crls } }).verify([device.der, intermediate.der]))).toBe(
      'ERR_CRL_UNAVAILABLE',
    );
    await expect(
      verifier({ revocation: { crls, whenUnavailable: 'use-stale' } }).verify([device.der, intermediate.der]),
    ).resolves.toBeTruthy();
  });

  it('rejects unreadable CRL configuration', async () => {
    await expect(CrlSource.create({ files: [join(dir, 'missing.crl')] })).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID',
    });
    await expect(CrlSource.create({ crls: ['not a crl'] })).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID',
    });
  });
});

describe('CRLs fetched from a URL', () => {
  let server: Server;
  let url: string;
  let body: Uint8Array | undefined;
  let requests = 0;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      requests++;
      if (!body) return void res.writeHead(503).end();
      res.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/devices.crl`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('refreshes in the background, and a new revocation takes effect despite the cache', async () => {
    const rootCrl = (await createCrl(root, [])).toString('pem');
    body = new Uint8Array(
      (await createCrl(intermediate, [], { thisUpdate: new Date(Date.now() - 120_000) })).rawData,
    );
    const errors: string[] = [];
    const crls = await CrlSource.create({
      crls: [rootCrl],
      urls: [url],
      refreshIntervalMs: 50,
      onError: (e) => errors.push(e.message),
    });
    try {
      const v = createCertificateVerifier({ trustAnchors: [root.pem], revocation: { crls } });
      const first = await v.verify([device.der, intermediate.der]);
      expect(await v.verify([device.der, intermediate.der])).toBe(first); // cached
      body = new Uint8Array((await createCrl(intermediate, [device])).rawData);
      await until(
        async () =>
          (await v.verify([device.der, intermediate.der]).catch((e: CertificateError) => e.code)) ===
          'ERR_CERT_REVOKED',
      );
      expect(errors).toEqual([]);
    } finally {
      crls.close();
    }
  });

  it('keeps the newer CRL when a download fails or serves an older one, and fails closed when none was ever loaded', async () => {
    const rootCrl = (await createCrl(root, [])).toString('pem');
    const newer = await createCrl(intermediate, [device]);
    body = new Uint8Array(newer.rawData);
    const errors: string[] = [];
    const crls = await CrlSource.create({
      crls: [rootCrl],
      urls: [url],
      refreshIntervalMs: 0,
      onError: (e) => errors.push(e.message),
    });
    const v = verifier({ revocation: { crls } });
    body = new Uint8Array(
      (await createCrl(intermediate, [], { thisUpdate: new Date(Date.now() - HOUR_MS) })).rawData,
    );
    await crls.refresh();
    expect(await codeOf(v.verify([device.der, intermediate.der]))).toBe('ERR_CERT_REVOKED');
    body = undefined;
    await crls.refresh();
    expect(await codeOf(v.verify([device.der, intermediate.der]))).toBe('ERR_CERT_REVOKED');
    expect(errors).toEqual([expect.stringContaining('older'), 'HTTP 503']);

    const before = requests;
    const down = await CrlSource.create({
      crls: [rootCrl],
      urls: [url],
      refreshIntervalMs: 0,
      onError: (e) => errors.push(e.message),
    });
    expect(requests).toBe(before + 1);
    expect(
      await codeOf(verifier({ revocation: { crls: down } }).verify([device.der, intermediate.der])),
    ).toBe('ERR_CRL_UNAVAILABLE');
  });

  it('times out a hanging CRL server', async () => {
    const hanging = createServer(() => undefined);
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const errors: string[] = [];
    const started = Date.now();
    await CrlSource.create({
      urls: [`http://127.0.0.1:${(hanging.address() as AddressInfo).port}/x.crl`],
      timeoutMs: 200,
      refreshIntervalMs: 0,
      onError: (e) => errors.push(e.name),
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(errors).toEqual(['TimeoutError']);
    hanging.closeAllConnections();
    await new Promise((resolve) => hanging.close(resolve));
  });
});

describe('verification cache', () => {
  it('returns cached results, but never past the certificate notAfter', async () => {
    // X.509 times have one-second precision: this expires 1 to 2 s from now.
    const shortLived = await issueDevice(intermediate, 'short', { notAfter: new Date(Date.now() + 2_000) });
    const v = createCertificateVerifier({ trustAnchors: [root.pem], clockToleranceMs: 0 });
    const first = await v.verify([shortLived.der, intermediate.der]);
    expect(await v.verify([shortLived.der, intermediate.der])).toBe(first);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect(await codeOf(v.verify([shortLived.der, intermediate.der]))).toBe('ERR_CERT_EXPIRED');
  });

  it('does not cache refusals, and clearCache forgets successes', async () => {
    const v = createCertificateVerifier({ trustAnchors: [root.pem] });
    expect(await codeOf(v.verify([device.der]))).toBe('ERR_CERT_UNTRUSTED');
    const first = await v.verify([device.der, intermediate.der]);
    v.clearCache();
    expect(await v.verify([device.der, intermediate.der])).not.toBe(first);
  });
});

async function until(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectRequest } from '@mqtt-warden/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CertificateError,
  CrlSource,
  certificateFromBase64Der,
  certificateIdentity,
  certificatesFromPem,
  createCertificateVerifier,
  createX509Authenticator,
  type IdentityField,
  identityField,
} from '../src/index.js';
import { createCa, createCrl, HOUR_MS, type Issued, issueDevice, x509 } from './pki.js';

let root: Issued;
let intermediate: Issued;
let device: Issued;
let dir: string;

beforeAll(async () => {
  root = await createCa('Root CA');
  intermediate = await createCa('Devices CA', { issuer: root });
  device = await issueDevice(intermediate, 'device-1', {
    // Most significant RDN first, as DNs are usually written in certificates.
    subject: [{ C: ['SE'] }, { O: ['Acme, Inc.'] }, { OU: ['Sensors+Actuators'] }, { CN: ['device-1'] }],
    serial: '0a1b2c3d4e5f',
    san: [
      { type: 'dns', value: 'device-1.example.com' },
      { type: 'url', value: 'spiffe://example.com/device/1' },
      { type: 'email', value: 'ops@example.com' },
      { type: 'ip', value: '10.1.2.3' },
    ],
  });
  dir = await mkdtemp(join(tmpdir(), 'warden-x509-id-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('certificateIdentity', () => {
  it('matches what openssl reports for the same certificate', async () => {
    const file = join(dir, 'device.pem');
    await writeFile(file, device.pem);
    const openssl = (...args: string[]) =>
      execFileSync('openssl', ['x509', '-in', file, '-noout', ...args])
        .toString()
        .trim();
    const identity = certificateIdentity(device.cert);
    expect(`subject=${identity.dn}`).toBe(openssl('-subject', '-nameopt', 'RFC2253'));
    expect(`issuer=${identity.issuerDn}`).toBe(openssl('-issuer', '-nameopt', 'RFC2253'));
    expect(`serial=${identity.serial.toUpperCase()}`).toBe(openssl('-serial'));
    const colons = (hex: string) => hex.toUpperCase().match(/../g)!.join(':');
    expect(`sha256 Fingerprint=${colons(identity.fingerprint)}`).toBe(openssl('-fingerprint', '-sha256'));
    expect(`md5 Fingerprint=${colons(identity.md5)}`).toBe(openssl('-fingerprint', '-md5'));
    const der = execFileSync('openssl', ['x509', '-in', file, '-outform', 'DER']);
    expect(identity.pem).toBe(der.toString('base64'));
    expect(openssl('-ext', 'subjectAltName')).toContain(
      'DNS:device-1.example.com, URI:spiffe://example.com/device/1, email:ops@example.com, IP Address:10.1.2.3',
    );
    expect(identity).toMatchObject({
      cn: ['device-1'],
      dn: 'CN=device-1,OU=Sensors\\+Actuators,O=Acme\\, Inc.,C=SE',
      issuerCn: ['Devices CA'],
      san: {
        dns: ['device-1.example.com'],
        uri: ['spiffe://example.com/device/1'],
        email: ['ops@example.com'],
        ip: ['10.1.2.3'],
      },
    });
  });

  it('escapes DN values as RFC 4514 says and joins several CNs with a comma', async () => {
    const odd = await issueDevice(intermediate, 'x', {
      subject: [{ CN: [' #lead', 'trail ', 'a;b<c>"d\\'] }],
    });
    const identity = certificateIdentity(odd.cert);
    expect(identity.dn).toBe('CN=\\ #lead+CN=trail\\ +CN=a\\;b\\<c\\>\\"d\\\\');
    expect(identityField(identity, 'cn')).toBe(' #lead,trail ,a;b<c>"d\\');
  });
});

describe('certificate input forms', () => {
  it('reads PEM bundles, URL-encoded PEM from proxies and base64 DER', () => {
    expect(certificatesFromPem(device.pem + intermediate.pem)).toEqual([device.der, intermediate.der]);
    expect(certificatesFromPem(encodeURIComponent(device.pem))).toEqual([device.der]);
    expect(certificateFromBase64Der(Buffer.from(device.der).toString('base64'))).toEqual(device.der);
  });

  it('refuses input that is not a certificate', () => {
    for (const bad of [
      () => certificatesFromPem('hello'),
      () => certificatesFromPem('%E0%A4%A'),
      () => certificateFromBase64Der('not base64!'),
    ]) {
      expect(bad).toThrow(CertificateError);
    }
  });
});

describe('createX509Authenticator', () => {
  const verifier = () => createCertificateVerifier({ trustAnchors: [root.pem] });
  const connect = (chain: Uint8Array[] | undefined, more: Partial<ConnectRequest> = {}): ConnectRequest => ({
    clientId: 'client-a',
    username: 'user-a',
    transport: { tls: true, remoteAddress: '10.0.0.9', peerCertificates: chain },
    ...more,
  });

  it('maps a verified certificate to a principal with cert.* attributes that expires with it', async () => {
    const outcome = await createX509Authenticator({ verifier: verifier() }).authenticate(
      connect([device.der, intermediate.der]),
    );
    expect(outcome.outcome).toBe('allow');
    if (outcome.outcome !== 'allow') return;
    const identity = certificateIdentity(device.cert);
    expect(outcome.principal).toEqual({
      id: identity.dn,
      clientId: 'client-a',
      claimedUsername: 'user-a',
      method: 'x509',
      roles: [],
      attributes: {
        'cert.cn': 'device-1',
        'cert.dn': identity.dn,
        'cert.issuer.dn': 'CN=Devices CA,O=Warden Test',
        'cert.issuer.cn': 'Devices CA',
        'cert.fingerprint': identity.fingerprint,
        'cert.serial': '0a1b2c3d4e5f',
        'cert.san.dns': ['device-1.example.com'],
        'cert.san.uri': ['spiffe://example.com/device/1'],
        'cert.san.email': ['ops@example.com'],
        'cert.san.ip': ['10.1.2.3'],
      },
      expiresAt: device.cert.notAfter.getTime(),
      remoteAddress: '10.0.0.9',
      tls: true,
    });
  });

  it('maps id, username and client id from the configured fields (EMQX peer_cert_as_*)', async () => {
    const identity = certificateIdentity(device.cert);
    const expected: Record<IdentityField, string> = {
      cn: 'device-1',
      dn: identity.dn,
      crt: Buffer.from(device.der).toString('latin1'),
      pem: Buffer.from(device.der).toString('base64'),
      md5: identity.md5,
      fingerprint: identity.fingerprint,
      serial: '0a1b2c3d4e5f',
      'san.dns': 'device-1.example.com',
      'san.uri': 'spiffe://example.com/device/1',
      'san.email': 'ops@example.com',
    };
    const v = verifier();
    for (const [field, value] of Object.entries(expected) as [IdentityField, string][]) {
      const authenticator = createX509Authenticator({
        verifier: v,
        idFrom: field,
        usernameFrom: field,
        clientIdFrom: field,
      });
      const outcome = await authenticator.authenticate(
        connect([device.der, intermediate.der], { username: value }),
      );
      expect(outcome).toMatchObject({
        outcome: 'allow',
        principal: { id: value, username: value, clientId: value },
      });
    }
  });

  it('never takes the username from CONNECT: a chosen privileged name is refused or only claimed', async () => {
    const v = verifier();
    const chain = [device.der, intermediate.der];
    const unmapped = createX509Authenticator({ verifier: v });
    expect(unmapped.provesUsername).toBe(false);
    const claimedOnly = await unmapped.authenticate(connect(chain, { username: 'admin' }));
    expect(claimedOnly).toMatchObject({ outcome: 'allow', principal: { claimedUsername: 'admin' } });
    if (claimedOnly.outcome === 'allow') expect(claimedOnly.principal.username).toBeUndefined();

    const mapped = createX509Authenticator({ verifier: v, usernameFrom: 'cn' });
    expect(mapped.provesUsername).toBe(true);
    for (const username of ['admin', undefined]) {
      expect(await mapped.authenticate(connect(chain, { username }))).toMatchObject({
        outcome: 'deny',
        reason: 'not-authorized',
      });
    }
    expect(await mapped.authenticate(connect(chain, { username: 'device-1' }))).toMatchObject({
      outcome: 'allow',
      principal: { username: 'device-1' },
    });

    const claimed = createX509Authenticator({ verifier: v, usernameFrom: 'cn', connectUsername: 'claimed' });
    expect(claimed.provesUsername).toBe(false);
    expect(await claimed.authenticate(connect(chain, { username: 'admin' }))).toMatchObject({
      outcome: 'allow',
      principal: { username: 'device-1', claimedUsername: 'admin' },
    });
    expect(() => createX509Authenticator({ verifier: v, connectUsername: 'must-match' })).toThrow(
      /set usernameFrom/,
    );
  });

  it('requires the client id to match the certificate when configured', async () => {
    const authenticator = createX509Authenticator({ verifier: verifier(), requireClientIdMatch: 'cn' });
    expect(
      await authenticator.authenticate(connect([device.der, intermediate.der], { clientId: 'device-1' })),
    ).toMatchObject({
      outcome: 'allow',
    });
    expect(
      await authenticator.authenticate(connect([device.der, intermediate.der], { clientId: 'device-2' })),
    ).toMatchObject({
      outcome: 'deny',
      reason: 'not-authorized',
    });
  });

  it('denies when a mapped field is missing from the certificate', async () => {
    const noCn = await issueDevice(intermediate, 'x', { subject: [{ O: ['Only Org'] }] });
    const outcome = await createX509Authenticator({ verifier: verifier(), usernameFrom: 'cn' }).authenticate(
      connect([noCn.der, intermediate.der]),
    );
    expect(outcome).toMatchObject({
      outcome: 'deny',
      reason: 'not-authorized',
      message: 'the certificate has no cn',
    });
    const noSan = await createX509Authenticator({ verifier: verifier(), idFrom: 'san.dns' }).authenticate(
      connect([noCn.der, intermediate.der]),
    );
    expect(noSan).toMatchObject({ outcome: 'deny', reason: 'not-authorized' });
  });

  it('ignores connects without a certificate', async () => {
    const authenticator = createX509Authenticator({ verifier: verifier() });
    expect(await authenticator.authenticate(connect(undefined))).toEqual({ outcome: 'ignore' });
    expect(await authenticator.authenticate(connect([]))).toEqual({ outcome: 'ignore' });
  });

  it('maps verification failures to deny reasons', async () => {
    const expired = await issueDevice(intermediate, 'old', { notAfter: new Date(Date.now() - HOUR_MS) });
    const other = await issueDevice(await createCa('Other'), 'device-1');
    const revoked = await issueDevice(intermediate, 'revoked');
    const crls = await CrlSource.create({
      crls: [
        (await createCrl(root, [])).toString('pem'),
        (await createCrl(intermediate, [revoked])).toString('pem'),
      ],
      refreshIntervalMs: 0,
    });
    const noCrls = await CrlSource.create({ refreshIntervalMs: 0 });
    const authenticator = createX509Authenticator({
      verifier: createCertificateVerifier({ trustAnchors: [root.pem], revocation: { crls } }),
    });
    const cases: [Uint8Array[], string][] = [
      [[expired.der, intermediate.der], 'expired'],
      [[other.der], 'bad-credentials'],
      [[revoked.der, intermediate.der], 'bad-credentials'],
      [[new Uint8Array([1, 2, 3])], 'bad-credentials'],
    ];
    for (const [chain, reason] of cases) {
      expect(await authenticator.authenticate(connect(chain))).toMatchObject({ outcome: 'deny', reason });
    }
    const failClosed = createX509Authenticator({
      verifier: createCertificateVerifier({ trustAnchors: [root.pem], revocation: { crls: noCrls } }),
    });
    expect(await failClosed.authenticate(connect([device.der, intermediate.der]))).toMatchObject({
      outcome: 'deny',
      reason: 'unavailable',
    });
  });

  it('lets unexpected errors propagate so the guard fails closed', async () => {
    const broken = createX509Authenticator({
      verifier: { verify: () => Promise.reject(new Error('bug')), clearCache() {}, close() {} },
    });
    await expect(broken.authenticate(connect([device.der]))).rejects.toThrow('bug');
    expect(x509.ExtendedKeyUsage.clientAuth).toBe('1.3.6.1.5.5.7.3.2');
  });
});

// Test PKI generated at test time with @peculiar/x509: CAs, device certificates and CRLs.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as ReturnType<typeof x509.cryptoProvider.get>);

export { x509 };

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const HOUR = 3_600_000;

export interface Issued {
  readonly cert: x509.X509Certificate;
  readonly keys: webcrypto.CryptoKeyPair;
  readonly der: Uint8Array;
  readonly pem: string;
  /** PKCS#8 PEM of the private key. */
  readonly keyPem: string;
}

interface CertOptions {
  readonly subject?: x509.X509CertificateCreateParamsName;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly serial?: string;
  readonly extensions?: x509.Extension[];
}

async function issue(
  issuer: Issued | undefined,
  subject: x509.X509CertificateCreateParamsName,
  options: CertOptions,
  extensions: x509.Extension[],
): Promise<Issued> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const common = {
    serialNumber:
      options.serial ??
      Buffer.from(webcrypto.getRandomValues(new Uint8Array(8)))
        .toString('hex')
        .replace(/^[89a-f]/, '1'),
    notBefore: options.notBefore ?? new Date(Date.now() - HOUR),
    notAfter: options.notAfter ?? new Date(Date.now() + 24 * HOUR),
    signingAlgorithm: ALG,
    extensions: [...extensions, ...(options.extensions ?? [])],
  };
  const cert = issuer
    ? await x509.X509CertificateGenerator.create({
        ...common,
        subject,
        issuer: issuer.cert.subjectName.toJSON(),
        publicKey: keys.publicKey,
        signingKey: issuer.keys.privateKey,
      })
    : await x509.X509CertificateGenerator.createSelfSigned({ ...common, name: subject, keys });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  return {
    cert,
    keys,
    der: new Uint8Array(cert.rawData),
    pem: `${cert.toString('pem').trimEnd()}\n`,
    keyPem: `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`,
  };
}

/** A root CA (self-signed) or, with `issuer`, an intermediate CA. */
export function createCa(
  cn: string,
  options: CertOptions & {
    issuer?: Issued;
    pathLength?: number;
    keyUsage?: x509.KeyUsageFlags;
    ca?: boolean;
  } = {},
): Promise<Issued> {
  return issue(options.issuer, options.subject ?? [{ O: ['Warden Test'] }, { CN: [cn] }], options, [
    new x509.BasicConstraintsExtension(options.ca ?? true, options.pathLength, true),
    new x509.KeyUsagesExtension(
      options.keyUsage ?? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
      true,
    ),
  ]);
}

/** An end-entity certificate; clientAuth EKU and digitalSignature by default. */
export function issueDevice(
  issuer: Issued,
  cn: string,
  options: CertOptions & {
    eku?: string[] | null;
    keyUsage?: x509.KeyUsageFlags;
    san?: x509.JsonGeneralNames;
  } = {},
): Promise<Issued> {
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false),
    new x509.KeyUsagesExtension(options.keyUsage ?? x509.KeyUsageFlags.digitalSignature, true),
  ];
  if (options.eku !== null) {
    extensions.push(new x509.ExtendedKeyUsageExtension(options.eku ?? [x509.ExtendedKeyUsage.clientAuth]));
  }
  if (options.san) extensions.push(new x509.SubjectAlternativeNameExtension(options.san));
  return issue(issuer, options.subject ?? [{ O: ['Warden Test'] }, { CN: [cn] }], options, extensions);
}

/** A CRL signed by `issuer` listing `revoked`. */
export async function createCrl(
  issuer: Issued,
  revoked: readonly Issued[],
  options: { thisUpdate?: Date; nextUpdate?: Date } = {},
): Promise<x509.X509Crl> {
  return x509.X509CrlGenerator.create({
    issuer: issuer.cert.subjectName.toJSON(),
    thisUpdate: options.thisUpdate ?? new Date(Date.now() - 60_000),
    nextUpdate: options.nextUpdate ?? new Date(Date.now() + HOUR),
    entries: revoked.map(({ cert }) => ({
      serialNumber: cert.serialNumber,
      revocationDate: new Date(Date.now() - 60_000),
    })),
    signingAlgorithm: ALG,
    signingKey: issuer.keys.privateKey,
  });
}

export const HOUR_MS = HOUR;

import { createHash } from 'node:crypto';
import { x509 } from './peculiar.js';

/** The facts about a client certificate that a principal can be built from. */
export interface CertificateIdentity {
  /** Subject common names, in certificate order (usually one). */
  readonly cn: readonly string[];
  /** Subject DN in EMQX's format: RDNs most specific first, `,` without spaces, RFC 4514 escaping. */
  readonly dn: string;
  readonly issuerDn: string;
  readonly issuerCn: readonly string[];
  readonly san: {
    readonly dns: readonly string[];
    readonly uri: readonly string[];
    readonly email: readonly string[];
    readonly ip: readonly string[];
  };
  /** Lowercase hex SHA-256 of the DER, without separators. */
  readonly fingerprint: string;
  /** Lowercase hex MD5 of the DER (EMQX `md5`). */
  readonly md5: string;
  /** Lowercase hex serial number. */
  readonly serial: string;
  /** Base64 of the DER without armour (EMQX `pem` and `${cert_pem}`). */
  readonly pem: string;
  readonly der: Uint8Array;
  readonly notAfter: Date;
}

/**
 * Extracts the identity fields of a certificate (already verified: this function trusts its input).
 *
 * @example
 * ```ts
 * const { cn, dn, fingerprint } = certificateIdentity(new x509.X509Certificate(der));
 * ```
 */
export function certificateIdentity(cert: x509.X509Certificate): CertificateIdentity {
  const der = new Uint8Array(cert.rawData);
  const names = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  const san = (type: x509.GeneralNameType) =>
    names.filter((name) => name.type === type).map((name) => name.value);
  return {
    cn: cert.subjectName.getField('CN'),
    dn: formatDn(cert.subjectName),
    issuerDn: formatDn(cert.issuerName),
    issuerCn: cert.issuerName.getField('CN'),
    san: { dns: san('dns'), uri: san('url'), email: san('email'), ip: san('ip') },
    fingerprint: createHash('sha256').update(der).digest('hex'),
    md5: createHash('md5').update(der).digest('hex'),
    serial: cert.serialNumber.toLowerCase(),
    pem: Buffer.from(der).toString('base64'),
    der,
    notAfter: cert.notAfter,
  };
}

/** RFC 4514 string: last RDN first, `+` inside a multi-valued RDN, `,` between RDNs. */
function formatDn(name: x509.Name): string {
  return name
    .toJSON()
    .reverse()
    .map((rdn) =>
      Object.entries(rdn)
        .flatMap(([type, values]) => values.map((value) => `${type}=${escapeValue(value)}`))
        .join('+'),
    )
    .join(',');
}

function escapeValue(value: string): string {
  return value
    .replace(/[\\"+,;<>]/g, (c) => `\\${c}`)
    .replaceAll('\u0000', '\\00')
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, '\\ ');
}

import type { TLSSocket } from 'node:tls';
import { CertificateError } from './errors.js';
import { x509 } from './peculiar.js';

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/g;

/**
 * The client's certificate chain (leaf first, DER) from a TLS socket, as `ConnectRequest.transport.peerCertificates`
 * wants it: walks `getPeerCertificate(true).issuerCertificate` until it repeats (a self-signed root points to itself).
 * Empty when the client sent no certificate.
 *
 * @example
 * ```ts
 * const transport = { tls: true, peerCertificates: peerCertificateChain(client.conn as TLSSocket) };
 * ```
 */
export function peerCertificateChain(socket: TLSSocket): Uint8Array[] {
  const chain: Uint8Array[] = [];
  const seen = new Set<object>();
  let cert = socket.getPeerCertificate(true);
  while (cert?.raw && !seen.has(cert)) {
    seen.add(cert);
    chain.push(new Uint8Array(cert.raw));
    cert = cert.issuerCertificate;
  }
  return chain;
}

/**
 * The certificates in PEM text (one or several blocks), as DER. Accepts the URL-encoded PEM that
 * TLS-terminating proxies put in headers (nginx `$ssl_client_escaped_cert`). Only use it for a header
 * set by a proxy you trust, on a connection only that proxy can open.
 *
 * @throws {CertificateError} `ERR_CERT_MALFORMED` when there is no PEM certificate block.
 * @example
 * ```ts
 * const peerCertificates = certificatesFromPem(request.headers['x-ssl-client-cert']);
 * ```
 */
export function certificatesFromPem(text: string): Uint8Array[] {
  let pem = text;
  if (/%[0-9A-Fa-f]{2}/.test(pem)) {
    try {
      pem = decodeURIComponent(pem);
    } catch (cause) {
      throw new CertificateError(
        'ERR_CERT_MALFORMED',
        'the certificate header is not valid URL-encoded PEM',
        {
          cause,
        },
      );
    }
  }
  const chain = [...pem.matchAll(PEM_BLOCK)].map(
    ([, body = '']) => new Uint8Array(Buffer.from(body.replace(/\s+/g, ''), 'base64')),
  );
  if (chain.length === 0) throw new CertificateError('ERR_CERT_MALFORMED', 'no PEM certificate found');
  return chain;
}

/**
 * A certificate given as base64 DER without PEM armour, as EMQX renders `${cert_pem}`.
 *
 * @throws {CertificateError} `ERR_CERT_MALFORMED` when the text is not base64.
 * @example
 * ```ts
 * const peerCertificates = [certificateFromBase64Der(body.cert_pem)];
 * ```
 */
export function certificateFromBase64Der(text: string): Uint8Array {
  const compact = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
    throw new CertificateError('ERR_CERT_MALFORMED', 'the certificate is not base64 DER');
  }
  return new Uint8Array(Buffer.from(compact, 'base64'));
}

/** Parses DER (or PEM) into a certificate, with a typed error for garbage. */
export function parseCertificate(input: Uint8Array | string): x509.X509Certificate {
  try {
    return new x509.X509Certificate(input);
  } catch (cause) {
    throw new CertificateError('ERR_CERT_MALFORMED', 'not a valid X.509 certificate', { cause });
  }
}

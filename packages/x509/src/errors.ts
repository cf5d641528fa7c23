import { WardenError } from '@mqtt-warden/core';

/** Stable codes of {@link CertificateError}. */
export type CertificateErrorCode =
  /** Not a parsable X.509 certificate, or no certificate at all. */
  | 'ERR_CERT_MALFORMED'
  /** No path from the certificate to a configured trust anchor (unknown CA, bad signature). */
  | 'ERR_CERT_UNTRUSTED'
  | 'ERR_CERT_EXPIRED'
  | 'ERR_CERT_NOT_YET_VALID'
  /** Key usage, extended key usage (`clientAuth`), CA flag or path length forbid this use. */
  | 'ERR_CERT_USAGE'
  /** A critical extension this verifier does not process. */
  | 'ERR_CERT_CRITICAL_EXTENSION'
  | 'ERR_CERT_REVOKED'
  /** No current CRL for an issuer in the path: missing, or past its nextUpdate (fail closed). */
  | 'ERR_CRL_UNAVAILABLE';

/** A client certificate was refused; `code` says why. */
export class CertificateError extends WardenError {
  declare readonly code: CertificateErrorCode;

  constructor(code: CertificateErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

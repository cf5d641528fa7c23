import { createHash } from 'node:crypto';
import { ConfigError } from '@mqtt-warden/core';
import { LRUCache } from 'lru-cache';
import { type CertificateIdentity, certificateIdentity } from './certificate-identity.js';
import { certificatesFromPem, parseCertificate } from './certificate-input.js';
import type { CrlSource } from './crl-source.js';
import { CertificateError } from './errors.js';
import { x509 } from './peculiar.js';

/** Options of {@link createCertificateVerifier}. */
export interface CertificateVerifierOptions {
  /** The CAs that client chains must lead to: PEM (bundles allowed) or DER. */
  readonly trustAnchors: readonly (string | Uint8Array)[];
  /** Allowed clock skew for notBefore/notAfter and CRL nextUpdate; default 60 s. */
  readonly clockToleranceMs?: number;
  /** Accept a leaf without an extended key usage extension; default false (`clientAuth` required). */
  readonly allowMissingExtendedKeyUsage?: boolean;
  /** Longest accepted path (leaf + intermediates + anchor); default 6. */
  readonly maxPathLength?: number;
  /** Revocation checks; none when absent. */
  readonly revocation?: {
    readonly crls: CrlSource;
    /** Also check intermediates against their issuer's CRL; default true. */
    readonly checkIntermediates?: boolean;
    /**
     * When an issuer has no CRL, or only one past its nextUpdate: `'fail-closed'` (default) refuses with
     * `ERR_CRL_UNAVAILABLE`; `'use-stale'` checks a stale CRL anyway and accepts a missing one.
     */
    readonly whenUnavailable?: 'fail-closed' | 'use-stale';
  };
  /** Cache of successful verifications keyed by the chain's SHA-256; `false` disables it. Default 10,000 × 5 min. */
  readonly cache?: false | { readonly max?: number; readonly ttlMs?: number };
  /** Clock in ms, for tests. */
  readonly now?: () => number;
}

/** A chain that passed every check. */
export interface VerifiedChain {
  /** The certification path: leaf first, trust anchor last. */
  readonly path: readonly x509.X509Certificate[];
  readonly identity: CertificateIdentity;
}

export interface CertificateVerifier {
  /**
   * Verifies a client chain (leaf first, then any intermediates the client sent, DER).
   * @throws {CertificateError} with the code of the first failed check.
   */
  verify(chain: readonly Uint8Array[]): Promise<VerifiedChain>;
  clearCache(): void;
  /** Detaches from the CRL source's change notifications. */
  close(): void;
}

const KNOWN_CRITICAL = new Set([
  '2.5.29.15', // key usage
  '2.5.29.17', // subject alternative name
  '2.5.29.19', // basic constraints
  '2.5.29.37', // extended key usage
]);

/**
 * Verifies client certificate chains against trust anchors: signatures along the path, validity (with clock
 * tolerance), CA flag and path length on issuers, key usage (`digitalSignature` on the leaf, `keyCertSign` on
 * issuers), extended key usage `clientAuth` on the leaf, unknown critical extensions, and revocation from CRLs.
 * Successful results are cached until the earliest notAfter in the path, and never past a used CRL's nextUpdate;
 * the cache is emptied when the CRLs change.
 *
 * @example
 * ```ts
 * const verifier = createCertificateVerifier({ trustAnchors: [await readFile('ca.pem', 'utf8')] });
 * const { identity } = await verifier.verify(peerCertificateChain(socket));
 * ```
 */
export function createCertificateVerifier(options: CertificateVerifierOptions): CertificateVerifier {
  const now = options.now ?? Date.now;
  const tolerance = options.clockToleranceMs ?? 60_000;
  const maxPath = options.maxPathLength ?? 6;
  const revocation = options.revocation;
  const anchors = new Map<string, x509.X509Certificate[]>();
  for (const input of options.trustAnchors) {
    for (const der of typeof input === 'string' ? certificatesFromPem(input) : [input]) {
      const anchor = parseCertificate(der);
      const key = nameKey(anchor.subjectName);
      anchors.set(key, [...(anchors.get(key) ?? []), anchor]);
    }
  }
  if (anchors.size === 0) throw new ConfigError('at least one trust anchor is required');
  const cacheTtl = (options.cache !== false && options.cache?.ttlMs) || 300_000;
  const cache =
    options.cache === false
      ? undefined
      : new LRUCache<string, VerifiedChain>({ max: options.cache?.max ?? 10_000, ttl: cacheTtl });
  const unsubscribe = revocation?.crls.onChange(() => cache?.clear());

  async function buildPath(leaf: x509.X509Certificate, offered: x509.X509Certificate[]) {
    const path = [leaf];
    for (let current = leaf; path.length < maxPath; ) {
      const issuerName = nameKey(current.issuerName);
      for (const anchor of anchors.get(issuerName) ?? []) {
        if (await signedBy(current, anchor)) return [...path, anchor];
      }
      let next: x509.X509Certificate | undefined;
      for (const candidate of offered) {
        if (path.includes(candidate) || nameKey(candidate.subjectName) !== issuerName) continue;
        if (await signedBy(current, candidate)) {
          next = candidate;
          break;
        }
      }
      if (!next) {
        throw new CertificateError(
          'ERR_CERT_UNTRUSTED',
          `no trusted issuer found for "${current.subject}"; send the intermediates and trust its root CA`,
        );
      }
      path.push(next);
      current = next;
    }
    throw new CertificateError('ERR_CERT_UNTRUSTED', `the certificate path is longer than ${maxPath}`);
  }

  function checkCertificate(
    cert: x509.X509Certificate,
    index: number,
    path: readonly x509.X509Certificate[],
  ) {
    const time = now();
    if (time + tolerance < cert.notBefore.getTime()) {
      throw new CertificateError(
        'ERR_CERT_NOT_YET_VALID',
        `"${cert.subject}" is not valid before ${cert.notBefore.toISOString()}`,
      );
    }
    if (time - tolerance > cert.notAfter.getTime()) {
      throw new CertificateError(
        'ERR_CERT_EXPIRED',
        `"${cert.subject}" expired at ${cert.notAfter.toISOString()}`,
      );
    }
    for (const extension of cert.extensions) {
      if (extension.critical && !KNOWN_CRITICAL.has(extension.type)) {
        throw new CertificateError(
          'ERR_CERT_CRITICAL_EXTENSION',
          `"${cert.subject}" has the unsupported critical extension ${extension.type}`,
        );
      }
    }
    const constraints = cert.getExtension(x509.BasicConstraintsExtension);
    const usage = cert.getExtension(x509.KeyUsagesExtension)?.usages;
    if (index === 0) {
      if (constraints?.ca) throw usageError(cert, 'is a CA certificate, not a client certificate');
      if (usage !== undefined && (usage & x509.KeyUsageFlags.digitalSignature) === 0) {
        throw usageError(cert, 'lacks the digitalSignature key usage');
      }
      const purposes = cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages;
      if (
        purposes
          ? !purposes.includes(x509.ExtendedKeyUsage.clientAuth)
          : !options.allowMissingExtendedKeyUsage
      ) {
        throw usageError(cert, 'lacks the clientAuth extended key usage');
      }
      return;
    }
    // A trust anchor without basic constraints is an old v1 root: trusted by configuration.
    const isAnchor = index === path.length - 1;
    if (!constraints?.ca && !(isAnchor && !constraints))
      throw usageError(cert, 'is not a CA but issued a certificate');
    if (usage !== undefined && (usage & x509.KeyUsageFlags.keyCertSign) === 0) {
      throw usageError(cert, 'lacks the keyCertSign key usage');
    }
    const below = index - 1; // intermediates between this issuer and the leaf
    if (constraints?.pathLength !== undefined && below > constraints.pathLength) {
      throw usageError(
        cert,
        `allows ${constraints.pathLength} intermediate(s) below it, the path has ${below}`,
      );
    }
  }

  /** Checks each non-anchor certificate against its issuer's CRL; returns the earliest nextUpdate used. */
  async function checkRevocation(path: readonly x509.X509Certificate[]): Promise<number> {
    if (!revocation) return Number.POSITIVE_INFINITY;
    const failClosed = (revocation.whenUnavailable ?? 'fail-closed') === 'fail-closed';
    const last = revocation.checkIntermediates === false ? 1 : path.length - 1;
    let until = Number.POSITIVE_INFINITY;
    for (let index = 0; index < last; index++) {
      const cert = path[index]!;
      const issuer = path[index + 1]!;
      const crl = await revocation.crls.find(issuer);
      const nextUpdate = crl?.nextUpdate?.getTime() ?? Number.POSITIVE_INFINITY;
      if (failClosed && (!crl || nextUpdate + tolerance < now())) {
        throw new CertificateError(
          'ERR_CRL_UNAVAILABLE',
          `no current CRL from "${issuer.subject}" (${crl ? 'past its nextUpdate' : 'none loaded'}); refusing until one is`,
        );
      }
      if (crl?.findRevoked(cert.serialNumber)) {
        throw new CertificateError(
          'ERR_CERT_REVOKED',
          `"${cert.subject}" (serial ${cert.serialNumber}) is revoked`,
        );
      }
      until = Math.min(until, nextUpdate + tolerance);
    }
    return until;
  }

  return {
    async verify(chain) {
      if (chain.length === 0) throw new CertificateError('ERR_CERT_MALFORMED', 'no client certificate');
      if (chain.length > maxPath) {
        throw new CertificateError('ERR_CERT_UNTRUSTED', `the client sent more than ${maxPath} certificates`);
      }
      const digest = createHash('sha256');
      for (const der of chain) digest.update(createHash('sha256').update(der).digest());
      const key = digest.digest('hex');
      const hit = cache?.get(key);
      if (hit) return hit;

      const [leaf, ...offered] = chain.map((der) => parseCertificate(der));
      const path = await buildPath(leaf!, offered);
      for (const [index, cert] of path.entries()) checkCertificate(cert, index, path);
      const crlUntil = await checkRevocation(path);
      const result: VerifiedChain = { path, identity: certificateIdentity(leaf!) };
      const notAfter = Math.min(...path.map((cert) => cert.notAfter.getTime())) + tolerance;
      const ttl = Math.min(cacheTtl, notAfter - now(), crlUntil - now());
      if (cache && ttl >= 1) cache.set(key, result, { ttl: Math.floor(ttl) });
      return result;
    },
    clearCache() {
      cache?.clear();
    },
    close() {
      unsubscribe?.();
    },
  };
}

function nameKey(name: x509.Name): string {
  return Buffer.from(name.toArrayBuffer()).toString('hex');
}

async function signedBy(cert: x509.X509Certificate, issuer: x509.X509Certificate): Promise<boolean> {
  return cert.verify({ publicKey: issuer, signatureOnly: true }).catch(() => false);
}

function usageError(cert: x509.X509Certificate, problem: string): CertificateError {
  return new CertificateError('ERR_CERT_USAGE', `"${cert.subject}" ${problem}`);
}

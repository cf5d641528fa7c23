import {
  type Authenticator,
  type AuthOutcome,
  applyConnectUsername,
  type ConnectRequest,
  type ConnectUsernameMode,
  connectUsernameMode,
  type DenyReason,
} from '@mqtt-warden/core';
import type { CertificateIdentity } from './certificate-identity.js';
import type { CertificateVerifier } from './certificate-verifier.js';
import { CertificateError } from './errors.js';

/**
 * A certificate field usable as principal id, username or client id. `cn`, `dn`, `crt`, `pem` and `md5`
 * are EMQX's `peer_cert_as_username` values (`crt` is the DER as a latin1 string, `pem` base64 DER);
 * the `san.*` fields take the first name of that type.
 */
export type IdentityField =
  | 'cn'
  | 'dn'
  | 'crt'
  | 'pem'
  | 'md5'
  | 'fingerprint'
  | 'serial'
  | 'san.dns'
  | 'san.uri'
  | 'san.email';

/** Options of {@link createX509Authenticator}. */
export interface X509AuthenticatorOptions {
  readonly verifier: CertificateVerifier;
  /** The principal id; default `dn`. */
  readonly idFrom?: IdentityField;
  /**
   * The certificate field that proves the principal's username (EMQX `peer_cert_as_username`). Without
   * it the principal has no username: the CONNECT one is kept only in `claimedUsername`.
   */
  readonly usernameFrom?: IdentityField;
  /**
   * With `usernameFrom`: `must-match` (default) refuses a CONNECT username other than the certificate's;
   * `claimed` accepts any and keeps it in `claimedUsername`. See {@link ConnectUsernameMode}.
   */
  readonly connectUsername?: ConnectUsernameMode;
  /** Replaces the client id (EMQX `peer_cert_as_clientid`); the CONNECT one is kept when absent. */
  readonly clientIdFrom?: IdentityField;
  /** Require the CONNECT client id to equal this certificate field. */
  readonly requireClientIdMatch?: IdentityField;
  /** Roles given to every certificate principal. */
  readonly roles?: readonly string[];
}

/** The value of one identity field, or undefined when the certificate has none. */
export function identityField(identity: CertificateIdentity, field: IdentityField): string | undefined {
  switch (field) {
    case 'cn':
      // EMQX joins several CNs with ","
      return identity.cn.length > 0 ? identity.cn.join(',') : undefined;
    case 'crt':
      return Buffer.from(identity.der).toString('latin1');
    case 'san.dns':
      return identity.san.dns[0];
    case 'san.uri':
      return identity.san.uri[0];
    case 'san.email':
      return identity.san.email[0];
    default:
      return identity[field] || undefined;
  }
}

/**
 * An authenticator (name `x509`) for clients that present a certificate chain in
 * `transport.peerCertificates` (mutual TLS, or a trusted proxy's header). It verifies the chain, maps the
 * certificate to a principal with `cert.*` attributes (`cert.cn`, `cert.dn`, `cert.san.dns`, `cert.fingerprint`,
 * `cert.serial`, `cert.issuer.dn`…) that expires with the certificate, and ignores connects without a certificate.
 * The username comes only from the certificate (`usernameFrom`), never from the CONNECT packet.
 * Refusals: expired → `expired`; no current CRL → `unavailable`; any other certificate problem → `bad-credentials`;
 * a client id that does not match the certificate → `not-authorized`.
 *
 * @example
 * ```ts
 * const x509 = createX509Authenticator({ verifier, idFrom: 'cn', requireClientIdMatch: 'cn' });
 * const guard = createGuard({ authenticators: [x509, passwords], authorizer });
 * ```
 */
export function createX509Authenticator(options: X509AuthenticatorOptions): Authenticator {
  const roles = options.roles ?? [];
  const mode = connectUsernameMode(
    options.connectUsername,
    options.usernameFrom !== undefined,
    'usernameFrom',
  );
  return {
    name: 'x509',
    provesUsername: mode === 'must-match',
    async authenticate(request: ConnectRequest): Promise<AuthOutcome> {
      const chain = request.transport.peerCertificates;
      if (!chain || chain.length === 0) return { outcome: 'ignore' };
      let identity: CertificateIdentity;
      try {
        ({ identity } = await options.verifier.verify(chain));
      } catch (error) {
        if (!(error instanceof CertificateError)) throw error;
        return { outcome: 'deny', reason: denyReason(error), message: error.message };
      }
      const id = identityField(identity, options.idFrom ?? 'dn');
      if (id === undefined) return missing(options.idFrom ?? 'dn');
      if (options.requireClientIdMatch) {
        if (request.clientId !== identityField(identity, options.requireClientIdMatch)) {
          return {
            outcome: 'deny',
            reason: 'not-authorized',
            message: `the client id must equal the certificate's ${options.requireClientIdMatch}`,
          };
        }
      }
      const username = options.usernameFrom && identityField(identity, options.usernameFrom);
      if (options.usernameFrom && username === undefined) return missing(options.usernameFrom);
      const clientId = options.clientIdFrom
        ? identityField(identity, options.clientIdFrom)
        : request.clientId;
      if (clientId === undefined) return missing(options.clientIdFrom!);
      const principal = {
        id,
        clientId,
        ...(username !== undefined && { username }),
        method: 'x509',
        roles,
        attributes: attributesOf(identity),
        expiresAt: identity.notAfter.getTime(),
        remoteAddress: request.transport.remoteAddress,
        tls: true,
      };
      return applyConnectUsername(principal, request, mode);
    },
  };
}

function denyReason(error: CertificateError): DenyReason {
  if (error.code === 'ERR_CERT_EXPIRED') return 'expired';
  if (error.code === 'ERR_CRL_UNAVAILABLE') return 'unavailable';
  return 'bad-credentials';
}

function missing(field: IdentityField): AuthOutcome {
  return { outcome: 'deny', reason: 'not-authorized', message: `the certificate has no ${field}` };
}

function attributesOf(identity: CertificateIdentity): Record<string, string | readonly string[]> {
  const attributes: Record<string, string | readonly string[]> = {
    'cert.dn': identity.dn,
    'cert.issuer.dn': identity.issuerDn,
    'cert.fingerprint': identity.fingerprint,
    'cert.serial': identity.serial,
    'cert.san.dns': identity.san.dns,
    'cert.san.uri': identity.san.uri,
    'cert.san.email': identity.san.email,
    'cert.san.ip': identity.san.ip,
  };
  if (identity.cn.length > 0) attributes['cert.cn'] = identity.cn.join(',');
  if (identity.issuerCn.length > 0) attributes['cert.issuer.cn'] = identity.issuerCn.join(',');
  return attributes;
}

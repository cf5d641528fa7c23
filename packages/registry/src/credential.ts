/** The kinds of credential a device can hold; several of each at once, so rotations overlap. */
export type CredentialKind = 'password' | 'psk' | 'sas' | 'x509';

interface CredentialBase {
  readonly id: string;
  readonly deviceId: string;
  readonly createdAt: Date;
  readonly expiresAt?: Date;
  readonly lastUsedAt?: Date;
  readonly revokedAt?: Date;
}

/** A password, stored as a hash in any format `@mqtt-warden/password` verifies (argon2id for new ones). */
export interface PasswordCredential extends CredentialBase {
  readonly kind: 'password';
  readonly hash: string;
}

/** A TLS-PSK identity and key. The key is a secret the server reads back: encrypted at rest. */
export interface PskCredential extends CredentialBase {
  readonly kind: 'psk';
  readonly identity: string;
  readonly key: Uint8Array;
}

/** A SAS device key (HMAC tokens signed by the device). Encrypted at rest. */
export interface SasCredential extends CredentialBase {
  readonly kind: 'sas';
  readonly key: Uint8Array;
}

/**
 * A certificate binding: the device may log in with a certificate that passes the x509 authenticator's
 * chain check and has this SHA-256 fingerprint (hex, upper case, no colons) or this issuer DN and serial.
 */
export interface CertificateCredential extends CredentialBase {
  readonly kind: 'x509';
  readonly fingerprint?: string;
  readonly issuer?: string;
  readonly serial?: string;
}

export type Credential = PasswordCredential | PskCredential | SasCredential | CertificateCredential;

type Input<C> = C extends Credential
  ? Omit<C, 'id' | 'deviceId' | 'createdAt' | 'lastUsedAt' | 'revokedAt'> & { readonly id?: string }
  : never;

/** What a caller gives to add a credential; `id` is generated when absent. */
export type CredentialInput = Input<Credential>;

/** How an authenticator finds the credentials it verifies. */
export type CredentialLookup =
  | { readonly kind: 'password'; readonly username: string }
  | { readonly kind: 'psk'; readonly identity: string }
  | { readonly kind: 'sas'; readonly deviceId: string }
  | { readonly kind: 'x509'; readonly fingerprint: string }
  | { readonly kind: 'x509'; readonly issuer: string; readonly serial: string };

/**
 * A device with the credentials of one lookup that are not revoked (expired ones included: the
 * authenticator decides, so it can say why).
 */
export interface DeviceCredentials {
  readonly device: import('./device.js').Device;
  readonly credentials: readonly Credential[];
}

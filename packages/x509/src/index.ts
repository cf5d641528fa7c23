export { type CertificateIdentity, certificateIdentity } from './certificate-identity.js';
export {
  certificateFromBase64Der,
  certificatesFromPem,
  peerCertificateChain,
} from './certificate-input.js';
export {
  type CertificateVerifier,
  type CertificateVerifierOptions,
  createCertificateVerifier,
  type VerifiedChain,
} from './certificate-verifier.js';
export { CrlSource, type CrlSourceOptions } from './crl-source.js';
export { CertificateError, type CertificateErrorCode } from './errors.js';
export {
  createX509Authenticator,
  type IdentityField,
  identityField,
  type X509AuthenticatorOptions,
} from './x509-authenticator.js';

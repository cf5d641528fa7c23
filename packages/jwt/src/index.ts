export { type AclClaimOptions, parseAclClaim } from './acl-claim.js';
export { AclClaimCache, type AclClaimCacheOptions } from './acl-claim-cache.js';
export { type ClaimMapping, type ClaimPath, claimsToPrincipal } from './claims-to-principal.js';
export {
  createDeviceTokenIssuer,
  type DeviceTokenIssuer,
  type DeviceTokenIssuerOptions,
  type DeviceTokenKeyStore,
  type DeviceTokenResponse,
  type SharedSigningKey,
} from './device-token-issuer.js';
export { createJwtAuthenticator, denyFor, type JwtAuthenticatorOptions } from './jwt-authenticator.js';
export {
  createJwtVerifier,
  type JwtVerifier,
  type JwtVerifierOptions,
  type VerifiedJwt,
} from './jwt-verifier.js';
export type { KeySource } from './key-source.js';
export { looksLikeJwt } from './looks-like-jwt.js';
export { createRemoteKeySet, type KeyResolver, type RemoteKeySetOptions } from './remote-key-set.js';
export { ruleTopicProblem } from './rule-topic.js';
export { checkBinding, type TokenBinding } from './token-binding.js';
export { TokenError, type TokenErrorCode } from './token-error.js';
export { type TokenField, tokenFromRequest } from './token-from-request.js';
export { type TokenUsername, tokenUsername } from './token-username.js';

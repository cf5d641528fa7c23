export type { ClientAuthMethod } from './client-authentication.js';
export {
  type AccessToken,
  type ClientCredentials,
  type ClientCredentialsOptions,
  createClientCredentials,
  TokenRequestError,
} from './client-credentials.js';
export {
  createIntrospectionClient,
  type IntrospectionClient,
  type IntrospectionOptions,
  type IntrospectionResponse,
} from './introspection-client.js';
export { createJwtAccessTokenVerifier, type JwtAccessTokenOptions } from './jwt-access-token-verifier.js';
export { createOAuthAuthenticator, type OAuthAuthenticatorOptions } from './oauth-authenticator.js';
export { type ScopeGrants, type ScopeMapping, scopeGrants } from './scope-grants.js';

export { buildChainLink, type ChainLink, type ChainLogger } from './authenticator-chain.js';
export { type AuthenticatorConfig, AuthenticatorSchema } from './authenticator-config.js';
export {
  createDeviceTokenAuthenticator,
  type DeviceTokenAuthenticatorOptions,
} from './device-token-authenticator.js';
export { type DeviceTokenRoutesOptions, deviceTokenRoutes } from './device-token-routes.js';
export { PrincipalDirectory, type PrincipalDirectoryOptions } from './principal-directory.js';
export { Secret, secretSchema } from './secret.js';
export {
  loadServerConfig,
  parseServerConfig,
  type ServerConfig,
  ServerConfigSchema,
} from './server-config.js';
export { createServerMetrics, type ServerMetrics } from './server-metrics.js';
export { createWardenServer, type WardenServer, type WardenServerOptions } from './warden-server.js';

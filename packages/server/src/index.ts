export { encryptionKeys, openRegistry, type RegistryLog } from './open-registry.js';
export {
  PrincipalDirectory,
  type PrincipalDirectoryOptions,
  type SharedSessions,
} from './principal-directory.js';
export { RegistryCredentials, type RegistryCredentialsOptions } from './registry-credentials.js';
export { type RegistryUserStoreOptions, registryUserStore } from './registry-user-store.js';
export { Secret } from './secret.js';
export {
  loadServerConfig,
  parseServerConfig,
  type ServerConfig,
  ServerConfigSchema,
} from './server-config.js';
export { SessionTickets, type SessionTicketsOptions, type TicketContent } from './session-tickets.js';
export { createWardenServer, type WardenServer, type WardenServerOptions } from './warden-server.js';

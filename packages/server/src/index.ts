export { PrincipalDirectory, type PrincipalDirectoryOptions } from './principal-directory.js';
export {
  loadServerConfig,
  parseServerConfig,
  type ServerConfig,
  ServerConfigSchema,
} from './server-config.js';
export { createServerMetrics, type ServerMetrics } from './server-metrics.js';
export { createWardenServer, type WardenServer, type WardenServerOptions } from './warden-server.js';

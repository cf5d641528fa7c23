import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { ADMIN_SERVER_OPTIONS, type AdminApiOptions, adminApi } from './admin-api.js';

export interface AdminServerOptions extends AdminApiOptions {
  /**
   * HTTPS: PEM cert and key. With `ca`, clients may present a certificate issued by it; only a verified one
   * counts, and only for the subjects `mtlsSubjects` maps to scopes (others still use tokens).
   */
  readonly tls?: {
    readonly cert: string | Buffer;
    readonly key: string | Buffer;
    readonly ca?: string | Buffer;
  };
  readonly logger?: FastifyServerOptions['logger'];
  readonly requestTimeoutMs?: number;
}

/**
 * A Fastify instance serving only the admin API, for its own listener (address and TLS of its own).
 *
 * @example
 * ```ts
 * import { createAdminServer } from '@mqtt-warden/admin-api';
 * import { MemoryRegistry } from '@mqtt-warden/registry';
 *
 * const admin = await createAdminServer({ store: new MemoryRegistry() });
 * await admin.listen({ host: '127.0.0.1', port: 9443 });
 * ```
 */
export async function createAdminServer(options: AdminServerOptions): Promise<FastifyInstance> {
  const { tls, logger, requestTimeoutMs, ...api } = options;
  const https = tls
    ? {
        cert: tls.cert,
        key: tls.key,
        // Ask for a certificate but let token callers in without one; the plugin trusts only verified ones.
        ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: false } : {}),
      }
    : null;
  const app = Fastify({
    ...ADMIN_SERVER_OPTIONS,
    logger: logger ?? false,
    requestTimeout: requestTimeoutMs ?? 300_000,
    return503OnClosing: true,
    ...(https ? { https } : {}),
  } as FastifyServerOptions) as unknown as FastifyInstance;
  await app.register(adminApi, api);
  await app.ready();
  return app;
}

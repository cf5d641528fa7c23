import { readFile } from 'node:fs/promises';
import { createAdminServer } from '@mqtt-warden/admin-api';
import type { RegistryStore } from '@mqtt-warden/registry';
import type { FastifyInstance } from 'fastify';
import type { ServerConfig } from './server-config.js';

/** The admin API's own listener. */
export interface AdminListener {
  readonly app: FastifyInstance;
  /** Starts listening; resolves to the base URL (`https://…` with TLS). */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/**
 * The admin API (`/admin/v1`) of the config's `admin:` block on `store`, on a listener of its own.
 *
 * @example
 * ```ts
 * const admin = await adminListener(config.admin, store, config.log.level);
 * console.log(`admin API on ${await admin.listen()}/admin/v1`);
 * ```
 */
export async function adminListener(
  admin: NonNullable<ServerConfig['admin']>,
  store: RegistryStore,
  level: ServerConfig['log']['level'],
): Promise<AdminListener> {
  const tls = admin.listen.tls;
  const app = await createAdminServer({
    store,
    tls: tls && {
      cert: await readFile(tls.cert),
      key: await readFile(tls.key),
      ca: tls.ca === undefined ? undefined : await readFile(tls.ca),
    },
    mtlsSubjects: admin.mtlsSubjects,
    bodyLimit: admin.limits.bodyBytes,
    importBytes: admin.limits.importBytes,
    logger: {
      level,
      // Bodies carry passwords and keys, the Authorization header an admin token.
      redact: { paths: ['req.headers.authorization', 'req.body', 'body'], censor: '[redacted]' },
      serializers: {
        req: (req: { method: string; url: string; ip?: string }) => ({
          method: req.method,
          url: req.url.split('?')[0],
          remoteAddress: req.ip,
        }),
      },
    },
  });
  return {
    app,
    listen: () => app.listen({ host: admin.listen.host, port: admin.listen.port }),
    close: () => app.close(),
  };
}

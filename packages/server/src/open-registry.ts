import { createPostgresRegistry, type RegistryStore } from '@mqtt-warden/registry';
import type { ServerConfig } from './server-config.js';

/**
 * The registry of the config's `store:` (PostgreSQL), or `undefined` when the config has none (files only).
 *
 * @example
 * ```ts
 * const registry = await openRegistry(config);
 * try { await serve(registry); } finally { await registry?.close(); }
 * ```
 */
export async function openRegistry(
  config: Pick<ServerConfig, 'store'>,
  onFeedError?: (error: unknown) => void,
): Promise<RegistryStore | undefined> {
  const { store } = config;
  if (!store) return undefined;
  const { postgres } = store;
  return createPostgresRegistry({
    url: await postgres.url.reveal(),
    schema: postgres.schema,
    poolSize: postgres.poolSize,
    statementTimeoutMs: postgres.statementTimeoutMs,
    migrate: postgres.migrateOnStart,
    encryptionKeys: store.encryptionKey ? [await store.encryptionKey.reveal()] : undefined,
    onFeedError,
  });
}

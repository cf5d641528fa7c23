import { ConfigError } from '@mqtt-warden/core';
import { createPostgresRegistry, type RegistryStore } from '@mqtt-warden/registry';
import type { ServerConfig } from './server-config.js';

/** Where the registry reports change-feed trouble (a pino logger fits). */
export interface RegistryLog {
  warn(object: { err: unknown }, message: string): void;
}

/**
 * Opens the registry the config's `store:` block describes, or returns undefined when there is none.
 * Migrates first when `store.postgres.migrateOnStart` is set; otherwise an old schema is refused with
 * a message naming `mqtt-warden migrate`.
 *
 * @example
 * ```ts
 * const store = await openRegistry(await loadServerConfig('warden.yaml'), { log: console });
 * ```
 */
export async function openRegistry(
  config: Pick<ServerConfig, 'store'>,
  options: { readonly log?: RegistryLog; readonly now?: () => Date } = {},
): Promise<RegistryStore | undefined> {
  const store = config.store;
  if (!store) return undefined;
  const { postgres } = store;
  return createPostgresRegistry({
    url: await postgres.url.reveal(),
    ...(postgres.schema !== undefined && { schema: postgres.schema }),
    ...(postgres.poolSize !== undefined && { poolSize: postgres.poolSize }),
    ...(postgres.statementTimeoutMs !== undefined && { statementTimeoutMs: postgres.statementTimeoutMs }),
    migrate: postgres.migrateOnStart,
    encryptionKeys: await encryptionKeys(config),
    ...(options.now && { now: options.now }),
    onFeedError: (error) => options.log?.warn({ err: error }, 'registry change feed interrupted; retrying'),
  });
}

/** The configured keys, newest (the one that encrypts) first, decoded and checked to be 32 bytes. */
export async function encryptionKeys(config: Pick<ServerConfig, 'store'>): Promise<Uint8Array[]> {
  const store = config.store;
  if (!store?.encryptionKey) return [];
  const keys = [];
  for (const secret of [store.encryptionKey, ...(store.previousEncryptionKeys ?? [])]) {
    const text = (await secret.reveal()).trim();
    const key = Buffer.from(text, 'base64');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || key.length !== 32)
      throw new ConfigError(
        `${secret.where}: an encryption key is 32 random bytes in base64 (44 characters), e.g. from "openssl rand -base64 32"`,
      );
    keys.push(new Uint8Array(key));
  }
  return keys;
}

import { ConfigError } from '@mqtt-warden/core';
import type { DefensesConfig } from '@mqtt-warden/defenses';
import type { ServerConfig } from './server-config.js';

/**
 * The config's `defenses` block as `createDefenses` takes it: the Redis URL read from its secret and
 * checked to be one. The error for a wrong one names where it was written and what to write, never the
 * URL (it may hold a password).
 *
 * @example
 * ```ts
 * const defenses = await createDefenses(await revealDefenses(config.defenses), { logger });
 * ```
 */
export async function revealDefenses(config: ServerConfig['defenses']): Promise<DefensesConfig> {
  const { store } = config;
  if (store === 'memory') return { ...config, store };
  const url = await store.redis.url.reveal();
  if (!/^rediss?:\/\//.test(url) || !URL.canParse(url)) {
    throw new ConfigError(
      `${store.redis.url.where}: not a Redis URL; write redis://[USER:PASSWORD@]HOST:PORT/DB (rediss:// for TLS), percent-encoding special characters of the password`,
    );
  }
  return { ...config, store: { redis: { ...store.redis, url } } };
}

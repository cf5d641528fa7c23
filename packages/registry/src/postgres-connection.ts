import { ConfigError, UnavailableError } from '@mqtt-warden/core';
import type postgres from 'postgres';

/** Schema names are plain identifiers, so they are safe both quoted and in a channel name. */
export function schemaName(schema = 'mqtt_warden'): string {
  if (!/^[a-z_][a-z0-9_]{0,47}$/.test(schema))
    throw new ConfigError(
      `the registry schema "${schema}" must be lower-case letters, digits and "_" (at most 48), starting with a letter or "_"`,
    );
  return schema;
}

/** Options every registry connection uses: bounded waits, no notice noise, an application name in pg_stat_activity. */
export function connectionOptions(statementTimeoutMs: number, schema: string): postgres.Options<{}> {
  return {
    connect_timeout: 10,
    idle_timeout: 60,
    onnotice: () => {},
    connection: { statement_timeout: statementTimeoutMs, application_name: `mqtt-warden-registry/${schema}` },
  };
}

/** SQLSTATE classes and client error codes that mean "the database cannot answer now", not "no such row". */
const UNAVAILABLE_STATES = /^(08|53|57|58)/;
const UNAVAILABLE_CODES = new Set([
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);

/**
 * The UnavailableError for a failure of the database itself (down, unreachable, timed out, shutting down,
 * schema missing), or undefined for any other error. The message names no URL or password.
 */
export function unavailable(error: unknown): UnavailableError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  if (code === '57014')
    return new UnavailableError('the registry database did not answer within statement_timeout', {
      cause: error,
    });
  if (code === '42P01' || code === '3F000')
    return new UnavailableError(
      'the registry tables are missing: run "mqtt-warden migrate --config FILE" (or set store.postgres.migrateOnStart)',
      { cause: error },
    );
  if (UNAVAILABLE_CODES.has(code) || UNAVAILABLE_STATES.test(code))
    return new UnavailableError(`the registry database is unavailable (${code})`, { cause: error });
  return undefined;
}

import postgres from 'postgres';
import { LATEST_MIGRATION, MIGRATIONS, type TableName } from './migrations.js';
import { connectionOptions, schemaName, unavailable } from './postgres-connection.js';

export interface MigrateRegistryOptions {
  /** `postgres://user:password@host:port/db` */
  readonly url: string;
  /** Default `mqtt_warden`; created when missing. */
  readonly schema?: string;
  readonly statementTimeoutMs?: number;
}

export interface MigrateResult {
  /** The migrations this call applied (none when the schema was current). */
  readonly applied: readonly { readonly version: number; readonly name: string }[];
  readonly version: number;
}

/**
 * Brings the registry schema to the newest version, in one transaction under an advisory lock: replicas
 * starting together apply each migration once (the others wait, then find nothing to do).
 *
 * @example
 * ```ts
 * const { applied } = await migrateRegistry({ url: 'postgres://postgres@127.0.0.1/warden' });
 * for (const m of applied) console.log(`applied ${m.version} ${m.name}`);
 * ```
 */
export async function migrateRegistry(options: MigrateRegistryOptions): Promise<MigrateResult> {
  const schema = schemaName(options.schema);
  const sql = postgres(options.url, {
    ...connectionOptions(options.statementTimeoutMs ?? 60_000, schema),
    max: 1,
  });
  const t: TableName = (name) => sql(`${schema}.${name}`);
  try {
    return await sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(hashtext(${`mqtt-warden registry migrate ${schema}`}))`;
      await tx`CREATE SCHEMA IF NOT EXISTS ${sql(schema)}`;
      await tx`CREATE TABLE IF NOT EXISTS ${t('schema_migrations')} (
        version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`;
      const done = new Set(
        (await tx<{ version: number }[]>`SELECT version FROM ${t('schema_migrations')}`).map(
          (r) => r.version,
        ),
      );
      const applied = [];
      for (const migration of MIGRATIONS) {
        if (done.has(migration.version)) continue;
        await migration.up(tx, t).simple();
        await tx`INSERT INTO ${t('schema_migrations')} (version, name) VALUES (${migration.version}, ${migration.name})`;
        applied.push({ version: migration.version, name: migration.name });
      }
      return { applied, version: LATEST_MIGRATION };
    });
  } catch (error) {
    throw unavailable(error) ?? error;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

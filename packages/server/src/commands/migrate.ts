import { WardenError } from '@mqtt-warden/core';
import { migrateRegistry } from '@mqtt-warden/registry';
import { loadServerConfig } from '../server-config.js';
import { parseCommandArgs } from './parse-command-args.js';

const HELP = `Usage: mqtt-warden migrate --config FILE

Brings the registry schema in PostgreSQL (the config's store.postgres block) to the version this
mqtt-warden needs and prints each migration it applied. Safe to run again and from several
replicas at once: an advisory lock lets one apply, the others find nothing left to do.

Exit status: 0 migrated (or already current), 1 the database could not be reached or refused,
2 usage error or a config without store.postgres.`;

/** `mqtt-warden migrate --config FILE` → 0 done, 1 database error, 2 usage or config error. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('migrate', HELP, args, {
    options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
  });
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  if (values.config === undefined) {
    console.error(`mqtt-warden migrate: give the server config with --config FILE\n\n${HELP}`);
    return 2;
  }
  let url: string;
  let schema: string | undefined;
  try {
    const config = await loadServerConfig(values.config);
    if (!config.store) {
      console.error(`mqtt-warden migrate: ${values.config} has no store: block (see docs/registry.md)`);
      return 2;
    }
    url = await config.store.postgres.url.reveal();
    schema = config.store.postgres.schema;
  } catch (error) {
    if (!(error instanceof WardenError)) throw error;
    console.error(`mqtt-warden migrate: ${error.message}`);
    return 2;
  }
  try {
    const { applied, version } = await migrateRegistry({ url, ...(schema !== undefined && { schema }) });
    for (const migration of applied) console.log(`applied ${migration.version}: ${migration.name}`);
    console.log(
      applied.length === 0
        ? `the registry schema is current (version ${version})`
        : `the registry schema is at version ${version}`,
    );
    return 0;
  } catch (error) {
    // Never the error itself: a connection error may carry the URL with its password.
    console.error(`mqtt-warden migrate: ${error instanceof WardenError ? error.message : describe(error)}`);
    return 1;
  }
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  return `the migration failed${typeof code === 'string' ? ` (${code})` : ''}`;
}

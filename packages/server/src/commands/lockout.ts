import { WardenError } from '@mqtt-warden/core';
import { createDefenses } from '@mqtt-warden/defenses';
import { revealDefenses } from '../reveal-defenses.js';
import { loadServerConfig } from '../server-config.js';
import { parseCommandArgs } from './parse-command-args.js';

const HELP = `Usage: mqtt-warden lockout list --config FILE [--json]
       mqtt-warden lockout clear KEY --config FILE

Lists the keys the brute-force lockout holds locked, or lifts one (and forgets its failures), working on
the store of the config's defenses block: the Redis that the serve replicas share. Keys look like
user:alice, user-address:alice@10.0.0.1, client:sensor-1, address:10.0.0.1.

Exit status: 0 done, 1 nothing to clear, 2 usage error, unreadable config, memory store or store down.`;

const options = {
  config: { type: 'string', short: 'c' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `mqtt-warden lockout list|clear …` → 0 done, 1 nothing to clear, 2 usage or store error. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('lockout', HELP, args, { options, allowPositionals: true });
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const [action, ...rest] = positionals;
  if (action !== 'list' && action !== 'clear') return usage('give list or clear');
  if (action === 'list' && rest.length > 0) return usage('list takes no KEY');
  if (action === 'clear' && rest.length !== 1) return usage('give exactly one KEY to clear');
  if (!values.config) return usage('--config is required');

  let defenses: Awaited<ReturnType<typeof createDefenses>> | undefined;
  try {
    const config = await revealDefenses((await loadServerConfig(values.config)).defenses);
    if (config.store === 'memory') {
      console.error(
        `mqtt-warden lockout: ${values.config} keeps lockouts in each serve process's memory; configure defenses.store.redis to list and clear them from here`,
      );
      return 2;
    }
    if (!config.enabled || !config.lockout.enabled) {
      console.error(`mqtt-warden lockout: the lockout is turned off in ${values.config}`);
      return 2;
    }
    // Store errors must show here, not be answered from memory; and this command is no replica: it
    // must not announce itself (the others would shrink their fallback share) nor sync limits.
    defenses = await createDefenses({
      ...config,
      onStoreError: 'closed',
      rateLimits: { ...config.rateLimits, enabled: false },
      storm: { ...config.storm, enabled: false },
    });
    const lockout = defenses.lockout!;
    if (action === 'clear') {
      const cleared = await lockout.clear(rest[0]!);
      console.log(cleared ? `cleared ${rest[0]}` : `${rest[0]} was not locked and had no failures`);
      return cleared ? 0 : 1;
    }
    const entries = await lockout.list();
    if (values.json) {
      console.log(JSON.stringify(entries.map((e) => ({ ...e, until: new Date(e.until).toISOString() }))));
    } else if (entries.length === 0) {
      console.log('no lockouts');
    } else {
      for (const e of entries) console.log(`${e.key}\tuntil ${new Date(e.until).toISOString()}`);
    }
    return 0;
  } catch (error) {
    console.error(`mqtt-warden lockout: ${error instanceof WardenError ? error.message : String(error)}`);
    return 2;
  } finally {
    await defenses?.close();
  }
}

function usage(message: string): number {
  console.error(`mqtt-warden lockout: ${message}\n\n${HELP}`);
  return 2;
}

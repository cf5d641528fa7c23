import { WardenError } from '@mqtt-warden/core';
import { rotateEncryptionKey } from '@mqtt-warden/registry';
import { encryptionKeys } from '../open-registry.js';
import { loadServerConfig } from '../server-config.js';
import { parseCommandArgs } from './parse-command-args.js';

const HELP = `Usage: mqtt-warden store rotate-key --config FILE [--batch-size N]

Re-encrypts every stored PSK key, SAS key and private signing key under store.encryptionKey, in
transactions of N rows (default 500), printing progress. To rotate: put the new key in
store.encryptionKey and the old one in store.previousEncryptionKeys, restart the servers, run
this, then remove the old key. Safe to interrupt and run again.

Exit status: 0 done, 1 the database could not be reached or a secret did not decrypt,
2 usage error or a config without store.postgres and store.encryptionKey.`;

/** `mqtt-warden store rotate-key --config FILE` → 0 done, 1 database or decryption error, 2 usage error. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('store', HELP, args, {
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      'batch-size': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  if (positionals.length !== 1 || positionals[0] !== 'rotate-key')
    return usage('the only verb is rotate-key');
  if (values.config === undefined) return usage('give the server config with --config FILE');
  const batch = values['batch-size'];
  if (batch !== undefined && !/^[1-9]\d{0,5}$/.test(batch)) return usage('--batch-size takes a whole number');
  let options: Parameters<typeof rotateEncryptionKey>[0];
  try {
    const config = await loadServerConfig(values.config);
    if (!config.store?.encryptionKey)
      return usage(`${values.config} has no store.encryptionKey to encrypt under (see docs/registry.md)`);
    options = {
      url: await config.store.postgres.url.reveal(),
      ...(config.store.postgres.schema !== undefined && { schema: config.store.postgres.schema }),
      encryptionKeys: await encryptionKeys(config),
      ...(batch !== undefined && { batchSize: Number(batch) }),
    };
  } catch (error) {
    if (!(error instanceof WardenError)) throw error;
    return usage(error.message);
  }
  try {
    const done = await rotateEncryptionKey({
      ...options,
      onProgress: (count, total) => console.log(`re-encrypted ${count}/${total}`),
    });
    console.log(`done: ${done} secrets now under the current key`);
    return 0;
  } catch (error) {
    const code = (error as { code?: unknown })?.code;
    console.error(
      `mqtt-warden store: ${error instanceof WardenError ? error.message : `rotation failed${typeof code === 'string' ? ` (${code})` : ''}`}`,
    );
    return 1;
  }
}

function usage(message: string): number {
  console.error(`mqtt-warden store: ${message}\n\n${HELP}`);
  return 2;
}

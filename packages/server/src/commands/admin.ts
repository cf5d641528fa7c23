import { userInfo } from 'node:os';
import { createAdminToken } from '@mqtt-warden/admin-api';
import { WardenError } from '@mqtt-warden/core';
import type { AdminScope, RegistryStore } from '@mqtt-warden/registry';
import { openRegistry } from '../open-registry.js';
import { loadServerConfig } from '../server-config.js';
import { parseCommandArgs } from './parse-command-args.js';

const HELP = `Usage: mqtt-warden admin token create --scope read|write|policy [--scope ...] [--description TEXT] --config FILE
       mqtt-warden admin token list [--json] --config FILE
       mqtt-warden admin token revoke ID --config FILE

Admin API tokens, written directly to the config's store (this is how the first token is made).
"create" prints only the token on stdout: it is shown once, the store keeps its SHA-256.
Scopes: read (GET), write (devices and credentials), policy (policy versions).

Exit status: 0 done, 1 the store refused (no such token), 2 usage, config or store error.`;

const SCOPES = new Set(['read', 'write', 'policy']);

const options = {
  config: { type: 'string', short: 'c' },
  scope: { type: 'string', multiple: true },
  description: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `mqtt-warden admin token create|list|revoke` → 0 done, 1 refused, 2 usage or config error. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('admin', HELP, args, { options, allowPositionals: true });
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const [noun, verb, ...rest] = positionals;
  if (noun !== 'token' || !['create', 'list', 'revoke'].includes(verb ?? '')) {
    return usage('expected "token create", "token list" or "token revoke ID"');
  }
  if (values.config === undefined) return usage('give the server config with the store: --config FILE');
  const scopes = values.scope ?? [];
  if (verb === 'create') {
    if (scopes.length === 0) return usage('give at least one --scope: read, write or policy');
    const unknown = scopes.find((s) => !SCOPES.has(s));
    if (unknown !== undefined) return usage(`unknown scope "${unknown}": use read, write or policy`);
  }
  if (verb === 'revoke' && rest.length !== 1) return usage('give the id of the token to revoke');
  if (verb !== 'revoke' && rest.length > 0) return usage(`unexpected argument "${rest[0]}"`);

  let store: RegistryStore | undefined;
  try {
    const config = await loadServerConfig(values.config);
    store = await openRegistry(config);
    if (!store) return usage(`${values.config} has no store: block; admin tokens live in the store`);
    const context = { actor: `cli:${userInfo().username}` };
    if (verb === 'create') {
      const { token } = await createAdminToken(
        store,
        { scopes: scopes as AdminScope[], description: values.description },
        context,
      );
      console.log(token);
    } else if (verb === 'list') {
      const tokens = (await store.listAdminTokens()).map(({ secretHash: _, ...token }) => token);
      if (values.json) console.log(JSON.stringify(tokens, null, 2));
      for (const t of values.json ? [] : tokens) {
        const state = t.revokedAt ? `revoked ${new Date(t.revokedAt).toISOString()}` : 'active';
        console.log(`${t.id}\t${t.scopes.join(',')}\t${state}\t${t.description ?? ''}`);
      }
    } else {
      const token = await store.revokeAdminToken(rest[0]!, context);
      console.log(`revoked admin token ${token.id}`);
    }
    return 0;
  } catch (error) {
    if (!(error instanceof WardenError)) throw error;
    console.error(`mqtt-warden admin: ${error.message}`);
    return error.code === 'ERR_REGISTRY_NOT_FOUND' ? 1 : 2;
  } finally {
    await store?.close();
  }
}

function usage(message: string): number {
  console.error(`mqtt-warden admin: ${message}\n\n${HELP}`);
  return 2;
}

import { type AdminScope, MemoryRegistry, type RegistryStore } from '@mqtt-warden/registry';
import Fastify, { type FastifyInstance } from 'fastify';
import { ADMIN_SERVER_OPTIONS, adminApi, createAdminToken } from '../src/index.js';

export interface Harness {
  readonly app: FastifyInstance;
  readonly store: RegistryStore;
  /** Every route Fastify registered: `METHOD url` (HEAD excluded). */
  readonly routes: string[];
  /** Tokens by name: all, read, write, policy, revoked. */
  readonly tokens: Record<'all' | 'read' | 'write' | 'policy' | 'revoked', string>;
  readonly ids: Record<'all' | 'read' | 'write' | 'policy' | 'revoked', string>;
}

/** An admin API on a MemoryRegistry with one token per scope, one with all, and a revoked one. */
export async function harness(
  options: { importBytes?: number; bodyLimit?: number } = {},
  store: RegistryStore = new MemoryRegistry(),
): Promise<Harness> {
  const app = Fastify({ ...ADMIN_SERVER_OPTIONS, logger: false });
  const routes: string[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) if (method !== 'HEAD') routes.push(`${method} ${r.url}`);
  });
  await app.register(adminApi, { store, ...options });
  await app.ready();
  const bootstrap = { actor: 'cli:test' };
  const make = async (scopes: AdminScope[]) => createAdminToken(store, { scopes }, bootstrap);
  const all = await make(['read', 'write', 'policy']);
  const read = await make(['read']);
  const write = await make(['write']);
  const policy = await make(['policy']);
  const revoked = await make(['read', 'write', 'policy']);
  await store.revokeAdminToken(revoked.record.id, bootstrap);
  const issued = { all, read, write, policy, revoked };
  return {
    app,
    store,
    routes,
    tokens: Object.fromEntries(Object.entries(issued).map(([k, v]) => [k, v.token])) as Harness['tokens'],
    ids: Object.fromEntries(Object.entries(issued).map(([k, v]) => [k, v.record.id])) as Harness['ids'],
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/**
 * What only the PostgreSQL store has: migrations under an advisory lock, the cross-replica change feed
 * (NOTIFY, reconnect, the periodic epoch check), encryption at rest, timeouts and the bounded pool.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import {
  createPostgresRegistry,
  migrateRegistry,
  type PostgresRegistryOptions,
  type RegistryChange,
  type RegistryStore,
} from '../src/index.js';

const URL = process.env.WARDEN_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const admin = postgres(URL, { max: 2, onnotice: () => {} });
const schemas: string[] = [];
const stores: RegistryStore[] = [];
const ctx = { actor: 'test' };

async function newSchema(): Promise<string> {
  const schema = `reg_pg_${randomBytes(4).toString('hex')}`;
  schemas.push(schema);
  await migrateRegistry({ url: URL, schema });
  return schema;
}

async function open(schema: string, options: Partial<PostgresRegistryOptions> = {}): Promise<RegistryStore> {
  const store = await createPostgresRegistry({
    url: URL,
    schema,
    encryptionKeys: [randomBytes(32)],
    ...options,
  });
  stores.push(store);
  return store;
}

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

afterAll(async () => {
  for (const schema of schemas) await admin`DROP SCHEMA IF EXISTS ${admin(schema)} CASCADE`;
  await admin.end();
});

describe('migrateRegistry', () => {
  it('applies each migration once when three replicas migrate at the same time', async () => {
    const schema = `reg_pg_${randomBytes(4).toString('hex')}`;
    schemas.push(schema);
    const results = await Promise.all([1, 2, 3].map(() => migrateRegistry({ url: URL, schema })));
    expect(results.map((r) => r.applied.length).sort()).toEqual([0, 0, 1]);
    const rows = await admin`SELECT version FROM ${admin(`${schema}.schema_migrations`)}`;
    expect(rows.map((r) => r.version)).toEqual([1]);
    expect((await migrateRegistry({ url: URL, schema })).applied).toEqual([]);
  });

  it('refuses a schema name that is not a plain identifier', async () => {
    await expect(migrateRegistry({ url: URL, schema: 'x"; DROP TABLE y; --' })).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID',
    });
  });
});

describe('change feed across replicas', () => {
  it('tells a second replica every change the first commits', async () => {
    const schema = await newSchema();
    const [a, b] = [await open(schema), await open(schema)];
    const seen: RegistryChange[] = [];
    b.onChange((change) => seen.push(change));
    await a.createDevice({ id: 'd' }, ctx);
    await a.importDevices([{ device: { id: 'e' } }, { device: { id: 'f' } }], ctx);
    await a.updateDevice('d', { enabled: false }, ctx);
    await vi.waitFor(() => expect(seen).toHaveLength(4), { timeout: 15_000 });
    expect(seen.map((c) => (c.kind === 'device' ? c.deviceId : c.kind))).toEqual(['d', 'e', 'f', 'd']);
    expect(seen.map((c) => c.epoch)).toEqual([1, 2, 3, 4]);
  });

  it('after the listening connection is cut, emits resync and replays what it missed', async () => {
    const schema = await newSchema();
    const writer = await open(schema);
    const reader = await open(schema);
    const seen: RegistryChange[] = [];
    reader.onChange((change) => seen.push(change));
    await writer.createDevice({ id: 'before' }, ctx);
    await vi.waitFor(() => expect(seen).toHaveLength(1), { timeout: 15_000 });
    const killed = await admin`
      SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE application_name = ${`mqtt-warden-registry/${schema}`} AND query ILIKE 'listen %'`;
    expect(killed.length).toBe(2);
    await writer.createDevice({ id: 'during' }, ctx);
    await vi.waitFor(
      () => {
        expect(seen.some((c) => c.kind === 'resync')).toBe(true);
        expect(seen.filter((c) => c.kind === 'device').map((c) => c.kind === 'device' && c.deviceId)).toEqual(
          ['before', 'during'],
        );
      },
      { timeout: 30_000 },
    );
    await writer.createDevice({ id: 'after' }, ctx);
    await vi.waitFor(() => expect(seen.at(-1)).toMatchObject({ kind: 'device', deviceId: 'after' }), {
      timeout: 15_000,
    });
  });

  it('when the epoch check fails, emits resync once the database answers again and keeps listening', async () => {
    const schema = await newSchema();
    const failures: unknown[] = [];
    const store = await open(schema, {
      epochCheckMs: 100,
      statementTimeoutMs: 300,
      onFeedError: (error) => failures.push(error),
    });
    const seen: RegistryChange[] = [];
    store.onChange((change) => seen.push(change));
    // The change log locked past statement_timeout: the epoch check fails as ERR_UNAVAILABLE.
    await admin.begin(async (tx) => {
      await tx`LOCK TABLE ${tx(`${schema}.change_log`)} IN ACCESS EXCLUSIVE MODE`;
      await vi.waitFor(() => expect(failures.length).toBeGreaterThan(0), { timeout: 15_000 });
    });
    expect(failures[0]).toMatchObject({ code: 'ERR_UNAVAILABLE' });
    await vi.waitFor(() => expect(seen.some((c) => c.kind === 'resync')).toBe(true), { timeout: 15_000 });
    await store.createDevice({ id: 'after' }, ctx);
    await vi.waitFor(() => expect(seen.at(-1)).toMatchObject({ kind: 'device', deviceId: 'after' }), {
      timeout: 15_000,
    });
  });

  it('finds a change whose notification was lost with the periodic epoch check', async () => {
    const schema = await newSchema();
    const store = await open(schema, { epochCheckMs: 200 });
    const seen: RegistryChange[] = [];
    store.onChange((change) => seen.push(change));
    // A change-log row with no NOTIFY: only the epoch check can find it.
    await admin`INSERT INTO ${admin(`${schema}.change_log`)} (change) VALUES (${admin.json({ kind: 'policy', version: 7 })})`;
    await vi.waitFor(() => expect(seen).toEqual([{ kind: 'policy', version: 7, epoch: 1 }]), {
      timeout: 15_000,
    });
  });
});

describe('encryption at rest', () => {
  it('stores no plaintext key bytes anywhere, and a ciphertext moved to another row does not open', async () => {
    const schema = await newSchema();
    const store = await open(schema);
    const psk = randomBytes(32);
    const sas = randomBytes(32);
    await store.createDevice({ id: 'd' }, ctx);
    const a = await store.addCredential(
      'd',
      { kind: 'psk', identity: 'a', key: psk },
      { ...ctx, idempotencyKey: 'k' },
    );
    const b = await store.addCredential('d', { kind: 'sas', key: sas }, ctx);
    await store.addSigningKey(
      {
        kid: 'k',
        alg: 'ES256',
        privateJwk: { kty: 'EC', d: 'PRIVATE-SCALAR-d' },
        publicJwk: { kty: 'EC' },
        createdAt: new Date(),
      },
      ctx,
    );
    const dump = JSON.stringify(
      await Promise.all(
        ['credentials', 'signing_keys', 'audit_records', 'change_log', 'idempotency_keys'].map(
          (table) => admin`SELECT * FROM ${admin(`${schema}.${table}`)}`,
        ),
      ),
    );
    for (const secret of [psk, sas])
      for (const encoding of ['hex', 'base64', 'base64url', 'latin1'] as const)
        expect(dump).not.toContain(secret.toString(encoding));
    expect(dump).not.toContain('PRIVATE-SCALAR-d');
    const sealed = await admin`SELECT id, sealed_key FROM ${admin(`${schema}.credentials`)} ORDER BY id`;
    for (const row of sealed) expect(row.sealed_key).toMatch(/^v1:[0-9a-f]{12}:[\w-]{16}:[\w-]+$/);

    await admin`UPDATE ${admin(`${schema}.credentials`)} SET sealed_key = (
      SELECT sealed_key FROM ${admin(`${schema}.credentials`)} WHERE id = ${b.id}) WHERE id = ${a.id}`;
    await expect(store.findCredentials({ kind: 'psk', identity: 'a' })).rejects.toMatchObject({
      code: 'ERR_SECRET_UNREADABLE',
    });
  });

  it('refuses PSK, SAS and signing keys without an encryption key, saying how to set one', async () => {
    const schema = await newSchema();
    const store = await open(schema, { encryptionKeys: [] });
    await store.createDevice({ id: 'd' }, ctx);
    for (const write of [
      () => store.addCredential('d', { kind: 'psk', identity: 'a', key: randomBytes(16) }, ctx),
      () => store.addCredential('d', { kind: 'sas', key: randomBytes(16) }, ctx),
      () =>
        store.importDevices(
          [{ device: { id: 'e' }, credentials: [{ kind: 'sas', key: randomBytes(16) }] }],
          ctx,
        ),
      () =>
        store.addSigningKey(
          { kid: 'k', alg: 'ES256', privateJwk: {}, publicJwk: {}, createdAt: new Date() },
          ctx,
        ),
    ])
      await expect(write()).rejects.toThrow(/set store\.encryptionKey .*openssl rand -base64 32/);
    expect(await store.listCredentials('d')).toEqual([]);
    expect(await store.getDevice('e')).toBeUndefined();
    // Passwords are hashes, not secrets the server reads back: they need no key.
    await store.addCredential('d', { kind: 'password', hash: '$argon2id$x' }, ctx);
  });
});

describe('failures', () => {
  it('turns a statement timeout into ERR_UNAVAILABLE, never "not found"', async () => {
    const schema = await newSchema();
    const store = await open(schema, { statementTimeoutMs: 200 });
    await admin.begin(async (tx) => {
      await tx`LOCK TABLE ${tx(`${schema}.devices`)} IN ACCESS EXCLUSIVE MODE`;
      await expect(store.getDevice('d')).rejects.toMatchObject({ code: 'ERR_UNAVAILABLE' });
      await expect(store.findCredentials({ kind: 'password', username: 'd' })).rejects.toMatchObject({
        code: 'ERR_UNAVAILABLE',
      });
    });
    expect(await store.getDevice('d')).toBeUndefined();
  });

  it('fails to open with ERR_UNAVAILABLE when the database is unreachable', async () => {
    await expect(
      createPostgresRegistry({ url: 'postgres://postgres@127.0.0.1:1/test', schema: 'x' }),
    ).rejects.toMatchObject({ code: 'ERR_UNAVAILABLE' });
  });

  it('keeps at most poolSize connections however many queries wait', async () => {
    const schema = await newSchema();
    const store = await open(schema, { poolSize: 2 });
    await Promise.all(Array.from({ length: 40 }, (_, i) => store.getDevice(`d-${i}`)));
    const [row] = await admin`
      SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE application_name = ${`mqtt-warden-registry/${schema}`} AND query NOT ILIKE 'listen %'`;
    expect(row!.n).toBeGreaterThan(0);
    expect(row!.n).toBeLessThanOrEqual(2);
  });
});

describe('cleanup', () => {
  it('deletes expired sessions from the table', async () => {
    const schema = await newSchema();
    let now = Date.now();
    const store = await open(schema, { cleanupMs: 100, now: () => new Date(now) });
    const principal = { id: 'u', clientId: 'c', method: 'password', roles: [], attributes: {} };
    await store.putSession({
      username: 'u',
      clientId: 'c',
      principal,
      authenticator: 'password',
      expiresAt: new Date(now + 1000),
    });
    await store.putSession({
      username: 'v',
      clientId: 'c',
      principal,
      authenticator: 'password',
      expiresAt: new Date(now + 60_000),
    });
    now += 2000;
    expect(await store.getSession('u', 'c')).toBeUndefined();
    await vi.waitFor(
      async () => {
        const rows = await admin`SELECT username FROM ${admin(`${schema}.sessions`)}`;
        expect(rows.map((r) => r.username)).toEqual(['v']);
      },
      { timeout: 15_000 },
    );
  });
});

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPostgresRegistry } from '@mqtt-warden/registry';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { openRegistry } from '../src/open-registry.js';
import { parseServerConfig } from '../src/server-config.js';

// The store: config block, openRegistry, and the built CLI's `migrate` and `store rotate-key` run as an
// operator runs them, against the real PostgreSQL.

const CLI = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const URL_ = process.env.WARDEN_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const dir = mkdtempSync(join(tmpdir(), 'warden-store-'));
const schemas: string[] = [];
const admin = postgres(URL_, { max: 1, onnotice: () => {} });

afterAll(async () => {
  for (const schema of schemas) await admin`DROP SCHEMA IF EXISTS ${admin(schema)} CASCADE`;
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
});

function newSchema(): string {
  const schema = `reg_cli_${randomBytes(4).toString('hex')}`;
  schemas.push(schema);
  return schema;
}

const base = 'policy: { file: policy.yaml }\nauthenticators: [{ type: password, file: users.yaml }]\n';

function config(store: string): string {
  const file = join(dir, `warden-${randomBytes(4).toString('hex')}.yaml`);
  writeFileSync(file, `${base}${store}`);
  return file;
}

function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile('node', [CLI, ...args], { timeout: 120_000 }, (error, out, err) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, out, err }),
    );
  });
}

const key = () => randomBytes(32).toString('base64');

describe('the store: config block', () => {
  it('parses postgres, the key and the previous keys as secrets, resolving file paths', () => {
    process.env.WARDEN_TEST_STORE_URL = URL_;
    const parsed = parseServerConfig(
      `${base}store:\n  postgres: { url: { env: WARDEN_TEST_STORE_URL }, schema: fleet, poolSize: 5, statementTimeoutMs: 2000 }\n  encryptionKey: { file: store.key }\n  previousEncryptionKeys: [${key()}]\n`,
      { file: join(dir, 'w.yaml') },
    );
    expect(parsed.store?.postgres).toMatchObject({
      schema: 'fleet',
      poolSize: 5,
      statementTimeoutMs: 2000,
      migrateOnStart: false,
    });
    expect(JSON.stringify(parsed.store)).not.toContain(URL_);
    expect(parsed.store?.previousEncryptionKeys).toHaveLength(1);
  });

  it('refuses a bad schema name and previous keys without a current one', () => {
    expect(() => parseServerConfig(`${base}store: { postgres: { url: x, schema: 'a"; drop' } }\n`)).toThrow(
      /schema/,
    );
    expect(() =>
      parseServerConfig(`${base}store: { postgres: { url: x }, previousEncryptionKeys: [${key()}] }\n`),
    ).toThrow(/set encryptionKey too/);
  });
});

describe('openRegistry', () => {
  it('returns undefined without a store block', async () => {
    expect(await openRegistry(parseServerConfig(base))).toBeUndefined();
  });

  it('refuses a key that is not 32 bytes of base64, saying how to make one', async () => {
    const parsed = parseServerConfig(
      `${base}store: { postgres: { url: '${URL_}' }, encryptionKey: c2hvcnQ= }\n`,
    );
    await expect(openRegistry(parsed)).rejects.toThrow(/openssl rand -base64 32/);
  });

  it('refuses an unmigrated schema, naming mqtt-warden migrate, and migrates with migrateOnStart', async () => {
    const schema = newSchema();
    const store = (migrate: boolean) =>
      parseServerConfig(
        `${base}store: { postgres: { url: '${URL_}', schema: ${schema}, migrateOnStart: ${migrate} } }\n`,
      );
    await expect(openRegistry(store(false))).rejects.toThrow(/mqtt-warden migrate/);
    const registry = await openRegistry(store(true));
    try {
      await registry!.createDevice({ id: 'd' }, { actor: 'test' });
      expect((await registry!.getDevice('d'))?.version).toBe(1);
      // Without an encryption key, a PSK cannot be stored, and the error says how to configure one.
      await expect(
        registry!.addCredential('d', { kind: 'psk', identity: 'i', key: randomBytes(16) }, { actor: 'test' }),
      ).rejects.toThrow(/set store\.encryptionKey/);
      expect(await registry!.listCredentials('d')).toEqual([]);
    } finally {
      await registry?.close();
    }
  });

  it('fails with ERR_UNAVAILABLE when PostgreSQL cannot be reached', async () => {
    const parsed = parseServerConfig(
      `${base}store: { postgres: { url: 'postgres://postgres@127.0.0.1:1/test' } }\n`,
    );
    await expect(openRegistry(parsed)).rejects.toMatchObject({ code: 'ERR_UNAVAILABLE' });
  });
});

describe('mqtt-warden migrate', () => {
  it('applies the migrations once and prints what it applied; a second run applies nothing', async () => {
    const schema = newSchema();
    const file = config(`store: { postgres: { url: '${URL_}', schema: ${schema} } }\n`);
    const first = await cli('migrate', '--config', file);
    expect(first).toMatchObject({ code: 0, err: '' });
    expect(first.out).toMatch(/^applied 1: devices, credentials/m);
    const tables =
      await admin`SELECT table_name FROM information_schema.tables WHERE table_schema = ${schema}`;
    expect(tables.map((t) => t.table_name)).toEqual(
      expect.arrayContaining(['devices', 'change_log', 'schema_migrations']),
    );
    const second = await cli('migrate', '--config', file);
    expect(second).toMatchObject({ code: 0 });
    expect(second.out).not.toMatch(/applied/);
    expect(second.out).toMatch(/current \(version 1\)/);
  });

  it('exits 2 without a store block and 1 when the database is down, never printing the URL', async () => {
    expect((await cli('migrate', '--config', config(''))).code).toBe(2);
    expect((await cli('migrate')).code).toBe(2);
    const down = await cli(
      'migrate',
      '--config',
      config(`store: { postgres: { url: 'postgres://u:hunter22@127.0.0.1:1/x' } }\n`),
    );
    expect(down.code).toBe(1);
    expect(down.err).toMatch(/unavailable/);
    expect(`${down.out}${down.err}`).not.toContain('hunter22');
  });
});

describe('mqtt-warden store rotate-key', () => {
  it('re-encrypts every secret under the new key in batches; afterwards the old key is not needed', {
    timeout: 120_000,
  }, async () => {
    const schema = newSchema();
    const [oldKey, newKey] = [key(), key()];
    const ctx = { actor: 'test' };
    const before = await createPostgresRegistry({
      url: URL_,
      schema,
      migrate: true,
      encryptionKeys: [oldKey],
    });
    const pskKeys = new Map<string, string>();
    try {
      await before.importDevices(
        Array.from({ length: 1100 }, (_, i) => {
          const bytes = randomBytes(16);
          pskKeys.set(`psk-${i}`, bytes.toString('hex'));
          return {
            device: { id: `d-${i}` },
            credentials: [{ kind: 'psk' as const, identity: `psk-${i}`, key: bytes }],
          };
        }),
        ctx,
      );
      await before.addCredential('d-0', { kind: 'sas', key: Buffer.from('sas-secret') }, ctx);
      await before.addSigningKey(
        {
          kid: 'k1',
          alg: 'ES256',
          privateJwk: { kty: 'EC', d: 'private-d' },
          publicJwk: { kty: 'EC' },
          createdAt: new Date(),
        },
        ctx,
      );
    } finally {
      await before.close();
    }

    const rotating = config(
      `store:\n  postgres: { url: '${URL_}', schema: ${schema} }\n  encryptionKey: ${newKey}\n  previousEncryptionKeys: [${oldKey}]\n`,
    );
    const run = await cli('store', 'rotate-key', '--config', rotating, '--batch-size', '400');
    expect(run).toMatchObject({ code: 0, err: '' });
    expect(run.out).toContain('re-encrypted 0/1102');
    expect(run.out).toContain('re-encrypted 400/1102');
    expect(run.out).toContain('re-encrypted 1102/1102');
    const again = await cli('store', 'rotate-key', '--config', rotating);
    expect(again.code).toBe(0);
    expect(again.out).toContain('done: 0 secrets');

    // The old key removed from the config: everything still reads.
    const after = await openRegistry(
      parseServerConfig(
        `${base}store: { postgres: { url: '${URL_}', schema: ${schema} }, encryptionKey: ${newKey} }\n`,
      ),
    );
    try {
      for (const i of [0, 399, 400, 1099]) {
        const found = await after!.findCredentials({ kind: 'psk', identity: `psk-${i}` });
        expect(Buffer.from((found!.credentials[0] as { key: Uint8Array }).key).toString('hex')).toBe(
          pskKeys.get(`psk-${i}`),
        );
      }
      const sas = await after!.findCredentials({ kind: 'sas', deviceId: 'd-0' });
      expect(Buffer.from((sas!.credentials[0] as { key: Uint8Array }).key).toString()).toBe('sas-secret');
      expect((await after!.listSigningKeys())[0]?.privateJwk).toEqual({ kty: 'EC', d: 'private-d' });
    } finally {
      await after?.close();
    }
    // Only the old key: nothing decrypts any more, and it says which key is missing.
    const stale = await createPostgresRegistry({ url: URL_, schema, encryptionKeys: [oldKey] });
    try {
      await expect(stale.findCredentials({ kind: 'psk', identity: 'psk-1' })).rejects.toMatchObject({
        code: 'ERR_SECRET_UNREADABLE',
      });
    } finally {
      await stale.close();
    }
  });

  it('exits 2 without an encryption key or verb', async () => {
    expect(
      (await cli('store', 'rotate-key', '--config', config(`store: { postgres: { url: '${URL_}' } }\n`)))
        .code,
    ).toBe(2);
    expect((await cli('store', '--config', config(''))).code).toBe(2);
  });
});

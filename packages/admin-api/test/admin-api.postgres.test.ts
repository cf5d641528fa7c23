/** The admin API suite and a 100k-row import on PostgreSQL, each test in a fresh schema (dropped after). */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { createPostgresRegistry, migrateRegistry, type RegistryStore } from '@mqtt-warden/registry';
import { afterAll, describe, expect, it } from 'vitest';
import { adminApiSuite } from './admin-api-suite.js';
import { bearer, harness } from './helpers.js';

const URL = process.env.WARDEN_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const schemas: string[] = [];

async function postgresStore(): Promise<RegistryStore> {
  const schema = `adm_api_${randomBytes(4).toString('hex')}`;
  schemas.push(schema);
  await migrateRegistry({ url: URL, schema });
  return createPostgresRegistry({ url: URL, schema, encryptionKeys: [randomBytes(32)], poolSize: 4 });
}

afterAll(() => {
  for (const schema of schemas) {
    execFileSync('psql', [URL, '-q', '-c', `DROP SCHEMA IF EXISTS ${schema} CASCADE`], { stdio: 'pipe' });
  }
});

adminApiSuite('admin API on PostgreSQL', postgresStore);

describe('bulk import on PostgreSQL', () => {
  it('imports 100,000 devices streamed in one request', { timeout: 600_000 }, async () => {
    const h = await harness({}, await postgresStore());
    try {
      const count = 100_000;
      const source = Readable.from(
        (function* () {
          for (let i = 0; i < count; i += 500) {
            const lines = Array.from({ length: 500 }, (_, n) =>
              JSON.stringify({ id: `bulk-${String(i + n).padStart(6, '0')}`, roles: ['device'] }),
            );
            yield Buffer.from(`${lines.join('\n')}\n`);
          }
        })(),
      );
      const started = performance.now();
      const response = await h.app.inject({
        method: 'POST',
        url: '/admin/v1/devices:import',
        headers: { ...bearer(h.tokens.write), 'content-type': 'application/x-ndjson' },
        payload: source,
      });
      const seconds = (performance.now() - started) / 1000;
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json()).toEqual({ created: count, updated: 0, failed: 0, errors: [] });
      expect(await h.store.getDevice('bulk-099999')).toMatchObject({ roles: ['device'] });
      console.log(
        `admin import: ${count} devices in ${seconds.toFixed(1)} s = ${Math.round(count / seconds)} rows/s (PostgreSQL)`,
      );
    } finally {
      await h.app.close();
      await h.store.close();
    }
  });
});

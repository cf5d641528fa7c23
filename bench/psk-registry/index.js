// Start-up load of RegistryPskKeys from the PostgreSQL registry: N devices (default 10,000), each with one
// PSK credential, then the time to load them, the table's estimated bytes and the V8 heap it took.
// Run: pnpm build && node --expose-gc bench/psk-registry/index.js [N] [CONCURRENCY]
// Needs PostgreSQL (WARDEN_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432/test); uses and
// drops its own schema.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { generatePskKey, RegistryPskKeys } from '../../packages/psk/dist/index.js';
import { createPostgresRegistry, migrateRegistry } from '../../packages/registry/dist/index.js';

const url = process.env.WARDEN_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const total = Number(process.argv[2] ?? 10_000);
const concurrency = Number(process.argv[3] ?? 8);
const schema = `bench_psk_${randomBytes(4).toString('hex')}`;

await migrateRegistry({ url, schema });
const store = await createPostgresRegistry({ url, schema, encryptionKeys: [randomBytes(32)], poolSize: 10 });
try {
  for (let from = 0; from < total; from += 5_000) {
    const rows = Array.from({ length: Math.min(5_000, total - from) }, (_, i) => ({
      device: { id: `device-${String(from + i).padStart(7, '0')}`, roles: ['sensor'] },
      credentials: [{ kind: 'psk', identity: `psk-${from + i}`, key: generatePskKey() }],
    }));
    await store.importDevices(rows, { actor: 'bench' });
  }
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  const keys = await RegistryPskKeys.load(store, { concurrency });
  const ms = performance.now() - started;
  globalThis.gc?.();
  const heap = process.memoryUsage().heapUsed - heapBefore;
  console.log(
    `${total} devices loaded in ${Math.round(ms)} ms (${Math.round(total / (ms / 1000))}/s, concurrency ${concurrency}); ` +
      `estimated ${Math.round(keys.bytes / total)} B/device, V8 heap ${Math.round(heap / total)} B/device` +
      (globalThis.gc ? '' : ' (run with --expose-gc for the heap figure)'),
  );
  keys.close();
} finally {
  await store.close();
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  await admin`DROP SCHEMA IF EXISTS ${admin(schema)} CASCADE`;
  await admin.end();
}

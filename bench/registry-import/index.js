// Bulk import rate of the PostgreSQL registry: N devices (default 100,000), each with one PSK credential
// (sealed with AES-256-GCM) and one password hash, imported by importDevices in calls of CHUNK rows.
// Run: pnpm build && node bench/registry-import/index.js [N] [CHUNK]
// Besides the wall-clock rate it prints the rate per CPU second (this process plus the PostgreSQL backends
// serving it, from /proc), which a shared, loaded machine does not distort.
// Needs PostgreSQL (WARDEN_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432/test); uses and
// drops its own schema.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { createPostgresRegistry, migrateRegistry } from '../../packages/registry/dist/index.js';

const url = process.env.WARDEN_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const total = Number(process.argv[2] ?? 100_000);
const chunk = Number(process.argv[3] ?? 20_000);
const schema = `bench_import_${randomBytes(4).toString('hex')}`;
const admin = postgres(url, { max: 1, onnotice: () => {} });

const keys = randomBytes(32 * total);
const rows = (from, count) =>
  Array.from({ length: count }, (_, i) => {
    const id = `device-${String(from + i).padStart(7, '0')}`;
    return {
      device: {
        id,
        roles: ['sensor'],
        groups: [`site-${(from + i) % 50}`],
        attributes: { site: `s${(from + i) % 50}` },
      },
      credentials: [
        {
          id: `${id}-psk`,
          kind: 'psk',
          identity: `psk-${id}`,
          key: keys.subarray(32 * (from + i), 32 * (from + i + 1)),
        },
        {
          id: `${id}-pw`,
          kind: 'password',
          hash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA',
        },
      ],
    };
  });

/** CPU seconds used so far by this process and by the PostgreSQL backends of the bench's schema. */
async function cpuSeconds() {
  const backends = await admin`
    SELECT pid FROM pg_stat_activity WHERE application_name = ${`mqtt-warden-registry/${schema}`}`;
  let ticks = 0;
  for (const { pid } of backends) {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    ticks += Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks (100 per second)
  }
  const own = process.cpuUsage();
  return ticks / 100 + (own.user + own.system) / 1e6;
}

try {
  await migrateRegistry({ url, schema });
  const store = await createPostgresRegistry({ url, schema, encryptionKeys: [randomBytes(32)] });
  try {
    for (const pass of ['create', 'replace']) {
      // The rows are made before the clock starts: only importDevices is measured.
      const calls = [];
      for (let from = 0; from < total; from += chunk) calls.push(rows(from, Math.min(chunk, total - from)));
      const cpuBefore = await cpuSeconds();
      const started = process.hrtime.bigint();
      for (const call of calls) await store.importDevices(call, { actor: 'bench' });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const cpu = (await cpuSeconds()) - cpuBefore;
      console.log(
        `${pass}: ${total} devices (+${2 * total} credentials) in ${seconds.toFixed(2)} s = ${Math.round(total / seconds)} devices/s wall, ${cpu.toFixed(2)} CPU s = ${Math.round(total / cpu)} devices per CPU second (calls of ${chunk})`,
      );
    }
    const page = await store.listDevices({ limit: 1 });
    if (page.devices.length !== 1) throw new Error('nothing imported');
  } finally {
    await store.close();
  }
} finally {
  await admin`DROP SCHEMA IF EXISTS ${admin(schema)} CASCADE`;
  await admin.end();
}

// Registry benchmark on the machine's PostgreSQL (127.0.0.1:5432, db `test`, its own schema, dropped at the end).
// Run after a build: `node bench/registry/index.js [devices=1000000] [seconds=5] [connections=8]`
// (PGURL overrides the database; BENCH_SCHEMA=name reuses a schema a previous run kept with BENCH_KEEP=1,
// skipping the import when its devices are there). Measures, in this order:
//   1. bulk import: store.importDevices in batches of 5,000 (each device with a password credential);
//   2. change-to-every-replica latency: three more PostgresRegistry instances (three LISTEN connections,
//      as three replicas hold) hear a device update; p50/p99 from the commit to the last of the three;
//   3. with the server wiring (`store:` in the server config): three `mqtt-warden serve` processes on that
//      schema; /emqx/authn rate and latency with the verification cache off (each login looks the device
//      up in PostgreSQL and verifies its argon2id hash) against the bare hash-verification rate (two in
//      flight each, three alternating slices of seconds/3, medians), and on
//      (cached); the same change latency measured through the replicas' answers; RSS per replica.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import postgres from 'postgres';

const DEVICES = Number(process.argv[2] ?? 1_000_000);
const SECONDS = Number(process.argv[3] ?? 5);
const CONNECTIONS = Number(process.argv[4] ?? 8);
const URL_ = process.env.PGURL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = process.env.BENCH_SCHEMA ?? `bench_reg_${randomBytes(4).toString('hex')}`;
const KEEP = process.env.BENCH_KEEP === '1';
const BATCH = 5_000;
const CHANGES = 100;
const ROUNDS = 3;
const context = { actor: 'bench' };

const registry = await import('../../packages/registry/dist/index.js');
const { hashPassword, verifyPassword } = await import('../../packages/password/dist/index.js');
// The key only seals PSK/SAS/signing keys, none of which the bench writes; fixed so a kept schema reopens.
const key = Buffer.alloc(32, 7);
const open = (options = {}) =>
  registry.createPostgresRegistry({ url: URL_, schema: SCHEMA, encryptionKeys: [key], ...options });

const results = { devices: DEVICES, node: process.version, cpus: (await import('node:os')).cpus().length };
const sql = postgres(URL_, { max: 1, onnotice: () => {} });
const store = await open({ migrate: true, poolSize: 4 });
const children = [];
try {
  // 1. Bulk import. One argon2id hash for every device: hashing a million passwords is not what is measured.
  const PASSWORD = 'bench-password';
  const hash = await hashPassword(PASSWORD);
  const imported = (await store.getDevice(`d${DEVICES - 1}`)) !== undefined;
  const importStart = performance.now();
  for (let i = 0; i < (imported ? 0 : DEVICES); i += BATCH) {
    const rows = [];
    for (let j = i; j < Math.min(DEVICES, i + BATCH); j++) {
      rows.push({
        device: { id: `d${j}`, roles: ['device'] },
        credentials: [{ kind: 'password', hash }],
      });
    }
    await store.importDevices(rows, context);
    if ((i / BATCH) % 20 === 19) {
      const done = i + BATCH;
      const rate = done / ((performance.now() - importStart) / 1000);
      console.error(`imported ${done.toLocaleString('en')} (${Math.round(rate)}/s)`);
    }
  }
  const importSeconds = (performance.now() - importStart) / 1000;
  results.import = imported
    ? `skipped: ${SCHEMA} holds the devices already`
    : { seconds: round(importSeconds, 1), perSecond: Math.round(DEVICES / importSeconds) };
  console.error('import', results.import);

  // 2. Change feed latency to three listeners (store level).
  const replicas = await Promise.all([0, 1, 2].map(() => open({ poolSize: 1 })));
  const heard = replicas.map(() => new Map());
  for (const [r, replica] of replicas.entries()) {
    replica.onChange((change) => {
      if (change.kind === 'device') heard[r].set(change.deviceId, performance.now());
    });
  }
  await sleep(500);
  const feedLatencies = [];
  for (let c = 0; c < CHANGES; c++) {
    const id = `d${Math.floor(Math.random() * DEVICES)}`;
    for (const h of heard) h.delete(id);
    const t = performance.now();
    await store.updateDevice(id, { attributes: { round: String(c) } }, context);
    while (heard.some((h) => !h.has(id))) await sleep(1);
    feedLatencies.push(Math.max(...heard.map((h) => h.get(id))) - t);
  }
  for (const replica of replicas) await replica.close();
  results.feed = { changes: CHANGES, ...percentiles(feedLatencies) };
  console.error('feed', results.feed);

  // Hash-only rate: argon2id verifications with two in flight (the cores a replica has), in this process.
  // Without the server wiring it is measured alone; with it, in slices alternating with uncached logins.
  const hashOnly = () => rate(SECONDS / ROUNDS, 2, () => verifyPassword(PASSWORD, hash));

  // 3. Through real server processes, when the server reads the store.
  const serverConfig = readFileSync(
    new URL('../../packages/server/src/server-config.ts', import.meta.url),
    'utf8',
  );
  if (!/\bstore:\s*strictObject/.test(serverConfig)) {
    results.server = 'skipped: this build of the server has no `store:` config';
    results.hashOnly = await hashOnly();
  } else {
    results.server = await throughServers(PASSWORD, hashOnly);
  }
} finally {
  for (const child of children) child.kill('SIGTERM');
  await store.close();
  if (KEEP) console.error(`kept schema ${SCHEMA}`);
  else await sql.unsafe(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await sql.end();
}
console.log(JSON.stringify(results, null, 2));

async function throughServers(password, hashOnly) {
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-registry-'));
  writeFileSync(
    join(dir, 'policy.yaml'),
    "version: 1\nroles:\n  device:\n    rules: [{ effect: allow, actions: all, topics: 'devices/${clientid}/#' }]\n",
  );
  writeFileSync(join(dir, 'key'), key.toString('base64'));
  const config = (cache) =>
    `listen: { host: 127.0.0.1, port: 0 }\nlog: { level: warn }\npolicy: { file: policy.yaml, watch: false }\n` +
    `store: { postgres: { url: '${URL_}', schema: ${SCHEMA} }, encryptionKey: { file: key } }\n` +
    `authenticators: [{ type: password${cache ? '' : ', cache: false'} }]\n`;
  writeFileSync(join(dir, 'cached.yaml'), config(true));
  writeFileSync(join(dir, 'uncached.yaml'), config(false));
  const out = {};
  const login = (i) => JSON.stringify({ username: `d${i}`, password, clientid: `d${i}` });

  // Uncached: random devices among all of them, so the credential lookups go to PostgreSQL too.
  const uncached = await serve(join(dir, 'uncached.yaml'));
  await expectAllow(uncached.url, login(0));
  // Two requests in flight, as the hash-only rate has, in alternating slices: the ratio compares like with
  // like on a machine whose load moves. Medians of the slices.
  const hashSlices = [];
  const loginSlices = [];
  for (let r = 0; r < ROUNDS; r++) {
    hashSlices.push(await hashOnly());
    loginSlices.push(
      await load(uncached.url, () => login(Math.floor(Math.random() * DEVICES)), 2, SECONDS / ROUNDS),
    );
  }
  results.hashOnly = median(hashSlices);
  out.uncached = median(loginSlices);
  out.uncached.ratioToHashOnly = round(out.uncached.perSecond / results.hashOnly.perSecond, 2);
  out.uncached.slices = loginSlices.map((slice, r) => `${slice.perSecond}/${hashSlices[r].perSecond}`);
  out.uncached.rssMB = rssMB(uncached.proc.pid);
  stop(uncached);

  // Cached: WARM devices that logged in once, then a storm of their reconnects (on the first of three replicas).
  const WARM = 200;
  const replicas = [];
  for (let r = 0; r < 3; r++) replicas.push(await serve(join(dir, 'cached.yaml')));
  for (let i = 0; i < WARM; i++) await expectAllow(replicas[0].url, login(i));
  out.cached = await load(replicas[0].url, () => login(Math.floor(Math.random() * WARM)));

  // Change to every replica: disable a device every replica has cached as allowed; time until all refuse.
  // These devices get a cheap argon2id hash, so a poll that misses the cache costs ~1 ms, not a full hash.
  const cheap = await hashPassword(password, { memoryCost: 256, timeCost: 1 });
  const latencies = [];
  for (let c = 0; c < 50; c++) {
    const id = `latency-${SCHEMA}-${Date.now()}-${c}`;
    await store.createDevice({ id, roles: ['device'] }, context);
    await store.addCredential(id, { kind: 'password', hash: cheap }, context);
    const body = JSON.stringify({ username: id, password, clientid: id });
    for (const replica of replicas) await expectAllow(replica.url, body);
    const t = performance.now();
    await store.updateDevice(id, { enabled: false }, context);
    const done = await Promise.all(replicas.map((replica) => refusedAt(replica.url, body)));
    latencies.push(Math.max(...done) - t);
  }
  out.changeToEveryReplica = { changes: latencies.length, ...percentiles(latencies) };
  out.rssMBPerReplica = replicas.map((replica) => rssMB(replica.proc.pid));
  for (const replica of replicas) stop(replica);
  return out;
}

function serve(configFile) {
  const bin = new URL('../../packages/server/dist/bin.js', import.meta.url).pathname;
  const proc = spawn(process.execPath, [bin, 'serve', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(proc);
  return new Promise((resolve, reject) => {
    let text = '';
    proc.stdout.on('data', (chunk) => {
      text += chunk;
      const match = /https?:\/\/127\.0\.0\.1:\d+/.exec(text);
      if (match) resolve({ proc, url: match[0] });
    });
    proc.once('exit', (code) => reject(new Error(`mqtt-warden serve exited with ${code}: ${text}`)));
  });
}

function stop({ proc }) {
  proc.removeAllListeners('exit');
  proc.kill('SIGTERM');
}

async function authn(url, body) {
  const response = await fetch(`${url}/emqx/authn`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return (await response.json()).result;
}

async function expectAllow(url, body) {
  const result = await authn(url, body);
  if (result !== 'allow') throw new Error(`expected allow, got ${result}`);
}

async function refusedAt(url, body) {
  for (;;) {
    if ((await authn(url, body)) !== 'allow') return performance.now();
    await sleep(2);
  }
}

async function load(url, body, connections = CONNECTIONS, duration = SECONDS) {
  const result = await autocannon({
    url,
    connections,
    duration,
    headers: { 'content-type': 'application/json' },
    requests: [{ method: 'POST', path: '/emqx/authn', setupRequest: (req) => ({ ...req, body: body() }) }],
  });
  return {
    perSecond: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
  };
}

async function rate(seconds, concurrency, task) {
  const latencies = [];
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await task();
        latencies.push(performance.now() - t);
      }
    }),
  );
  return {
    perSecond: Math.round(latencies.length / ((performance.now() - start) / 1000)),
    ...percentiles(latencies),
  };
}

function rssMB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024);
}

/** The slice with the median rate. */
function median(slices) {
  return [...slices].sort((a, b) => a.perSecond - b.perSecond)[Math.floor(slices.length / 2)];
}

function percentiles(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))], 1);
  return { p50: at(0.5), p99: at(0.99), max: round(sorted.at(-1), 1) };
}

function round(value, digits) {
  return Math.round(value * 10 ** digits) / 10 ** digits;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Reconnect storm: CONNECTS logins by DEVICES devices (each device DEVICES/CONNECTS times, shuffled),
// CONCURRENCY in flight, through the `password` authenticator over argon2id (OWASP default) hashes,
// with the success cache on and off.
// Run after a build: `pnpm run build && node bench/credentials/password-storm.js`
// (DEVICES, CONNECTS, CONCURRENCY, TTL_MS tune it; defaults 1000, 10000, 32, 600000: a TTL longer than
// the run, so the figure is the cache's effect rather than its expiry).
import {
  createMemoryStore,
  createPasswordAuthenticator,
  hashPassword,
} from '../../packages/password/dist/index.js';

const DEVICES = Number(process.env.DEVICES ?? 1_000);
const CONNECTS = Number(process.env.CONNECTS ?? 10_000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 32);
const TTL_MS = Number(process.env.TTL_MS ?? 600_000);

const passwords = Array.from(
  { length: DEVICES },
  (_, i) => `device-${i}-secret-${Math.random().toString(36).slice(2)}`,
);
const setupStart = performance.now();
const entries = [];
for (let i = 0; i < DEVICES; i += CONCURRENCY) {
  const batch = passwords.slice(i, i + CONCURRENCY);
  const hashes = await Promise.all(batch.map((p) => hashPassword(p)));
  for (const [j, hash] of hashes.entries())
    entries.push({ username: `device-${i + j}`, hash, roles: ['device'] });
}
const setupMs = performance.now() - setupStart;

const order = Array.from({ length: CONNECTS }, (_, i) => i % DEVICES);
for (let i = order.length - 1; i > 0; i--) {
  const j = Math.floor(Math.random() * (i + 1));
  [order[i], order[j]] = [order[j], order[i]];
}

async function storm(cache) {
  const auth = createPasswordAuthenticator({ store: createMemoryStore(entries), cache });
  const latencies = [];
  let next = 0;
  let allowed = 0;
  const start = performance.now();
  async function worker() {
    while (next < order.length) {
      const device = order[next++];
      const t = performance.now();
      const outcome = await auth.authenticate({
        clientId: `device-${device}`,
        username: `device-${device}`,
        password: new TextEncoder().encode(passwords[device]),
        transport: { tls: true },
      });
      latencies.push(performance.now() - t);
      if (outcome.outcome === 'allow') allowed++;
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const ms = performance.now() - start;
  if (allowed !== CONNECTS) throw new Error(`only ${allowed} of ${CONNECTS} allowed`);
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))].toFixed(1);
  return { ms, rate: (CONNECTS * 1000) / ms, p50: pct(0.5), p99: pct(0.99) };
}

console.log(
  `reconnect storm: ${CONNECTS} connects by ${DEVICES} devices, concurrency ${CONCURRENCY}, argon2id m=19456,t=2,p=1, node ${process.version}`,
);
console.log(`(setup: ${DEVICES} hashes in ${(setupMs / 1000).toFixed(1)} s)`);
const cached = await storm({ ttlMs: TTL_MS });
const uncached = await storm(false);
console.log(`| success cache | total s | connects/s | p50 ms | p99 ms |`);
console.log(`|---|---:|---:|---:|---:|`);
for (const [name, r] of [
  [`on (HMAC-keyed LRU, TTL ${TTL_MS / 1000} s)`, cached],
  ['off', uncached],
]) {
  console.log(`| ${name} | ${(r.ms / 1000).toFixed(1)} | ${r.rate.toFixed(0)} | ${r.p50} | ${r.p99} |`);
}
console.log(`cached/uncached throughput ratio: ${(cached.rate / uncached.rate).toFixed(1)}x`);

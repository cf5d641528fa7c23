// A flood of wrong passwords from one address against a legitimate login from another: p50/p99/max of
// the legitimate logins (EMQX authn over HTTP, argon2id OWASP-default hashes) with no flood, with the
// flood and the defenses off, and with the flood and the defenses on (defaults, memory store; set
// REDIS_URL=redis://127.0.0.1:6379 to use a Redis store under a throwaway key prefix).
// Run after a build: `pnpm run build && node bench/defenses/flood.js`
// (SECONDS per phase and round, default 20; ROUNDS, default 3; SETTLE_SECONDS, default 5, for the
// p99 of the logins after the flood's first seconds; FLOOD concurrent attacker requests, default 64; LEGIT_EVERY_MS, default 50).
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../packages/password/dist/index.js';
import { createWardenServer, parseServerConfig } from '../../packages/server/dist/index.js';

const SECONDS = Number(process.env.SECONDS ?? 20);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SETTLE_SECONDS = Number(process.env.SETTLE_SECONDS ?? 5);
const FLOOD = Number(process.env.FLOOD ?? 64);
const LEGIT_EVERY_MS = Number(process.env.LEGIT_EVERY_MS ?? 50);
const REDIS_URL = process.env.REDIS_URL;

if (process.argv[2] === 'attacker') {
  // Ready once loaded; flood from the parent's "go" until the time it gives.
  process.send('ready');
  process.once('message', async (until) => {
    process.send(await attack(process.argv[3], until));
    process.exit(0);
  });
}

/** The flood, in its own process so its client-side work does not share the server's event loop. */
async function attack(base, until) {
  let attempts = 0;
  const one = async (n) => {
    while (Date.now() < until) {
      const user = n % 2 === 0 ? `victim-${attempts % 20}` : `nobody-${attempts}`;
      await login(base, user, `guess-${attempts}`, '203.0.113.66', `bot-${attempts % 1000}`);
      attempts++;
    }
  };
  await Promise.all(Array.from({ length: FLOOD }, (_, n) => one(n)));
  return attempts;
}

const dir = mkdtempSync(join(tmpdir(), 'warden-bench-defenses-'));
// The attacker tries 20 real users and names that do not exist; the legitimate fleet is 20 devices.
const users = ['users:'];
// 20 legitimate devices (one hash computed, the same verification cost each).
const legitHash = await hashPassword('legit-password');
for (let i = 0; i < 20; i++) users.push(`  legit-${i}:\n    hash: ${legitHash}`);
for (let i = 0; i < 20; i++)
  users.push(`  victim-${i}:\n    hash: ${await hashPassword(`victim-${i}-password`)}`);
writeFileSync(join(dir, 'users.yaml'), `${users.join('\n')}\n`);
writeFileSync(
  join(dir, 'policy.yaml'),
  "version: 1\nbindings: [{ when: { username: 'legit-*' }, roles: [device] }]\nroles: { device: { rules: [] } }\n",
);

function config(defenses) {
  return parseServerConfig(
    `listen: { host: 127.0.0.1, port: 0 }\nlog: { level: silent }\npolicy: { file: policy.yaml, watch: false }\nauthenticators: [{ type: password, file: users.yaml, cache: false }]\ndefenses: ${defenses}\n`,
    { baseDir: dir },
  );
}

async function login(base, username, password, peerhost, clientid) {
  const start = performance.now();
  const res = await fetch(`${base}/emqx/authn`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password, clientid, peerhost }),
  });
  const body = await res.json();
  return { ms: performance.now() - start, result: body.result };
}

/** One run of a phase: the legitimate logins' latencies and what the server counted. */
async function phase(defenses, flood) {
  const server = await createWardenServer(config(defenses));
  const base = await server.listen();
  // The attacker process starts first; the clock starts when it is loaded and told to go.
  const child = flood && fork(new URL(import.meta.url).pathname, ['attacker', base]);
  if (child) await new Promise((resolve) => child.once('message', resolve));
  const until = performance.now() + SECONDS * 1000;
  const attacker = () =>
    new Promise((resolve) => {
      child.once('message', resolve);
      child.send(Date.now() + SECONDS * 1000);
    });
  const latencies = [];
  const settled = [];
  let refused = 0;
  const legit = async () => {
    let i = 0;
    while (performance.now() < until) {
      const device = `legit-${i++ % 20}`;
      const { ms, result } = await login(base, device, 'legit-password', '198.51.100.7', device);
      if (result !== 'allow') refused++;
      latencies.push(ms);
      // After the burst a flood gets through before the first locks (the thresholds plus what is in flight).
      if (performance.now() > until - (SECONDS - SETTLE_SECONDS) * 1000) settled.push(ms);
      await new Promise((r) => setTimeout(r, LEGIT_EVERY_MS));
    }
  };
  const [, attempts = 0] = await Promise.all([legit(), flood ? attacker() : 0]);
  const stats = server.defenses.stats();
  await server.close();
  return { latencies, settled, refused, attempts, stats };
}

/** Rounds of one phase merged: latency quantiles over every legitimate login of every round. */
function summary(name, runs) {
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const settled = runs.flatMap((r) => r.settled).sort((a, b) => a - b);
  const quantile = (list, q) => list[Math.min(list.length - 1, Math.floor(q * list.length))]?.toFixed(1);
  const at = (q) => quantile(latencies, q);
  const sum = (f) => runs.reduce((total, r) => total + f(r), 0);
  return {
    phase: name,
    'legit logins': latencies.length,
    'legit refused': sum((r) => r.refused),
    'p50 ms': at(0.5),
    'p99 ms': at(0.99),
    'max ms': latencies.at(-1).toFixed(1),
    [`p99 after ${SETTLE_SECONDS} s`]: quantile(settled, 0.99),
    'attacker req/s': Math.round(sum((r) => r.attempts) / (SECONDS * runs.length)),
    verifications: sum((r) => r.stats.verifications),
    'refused by defenses': sum(
      (r) => r.stats.refused.lockout + r.stats.refused.rateLimited + r.stats.refused.stormShed,
    ),
  };
}

const on = REDIS_URL
  ? `{ store: { redis: { url: "${REDIS_URL}", keyPrefix: "bench-${randomUUID()}" } } }`
  : '{}';
const PHASES = [
  ['no flood, defenses on', on, false],
  ['flood, defenses off', '{ enabled: false }', true],
  ['flood, defenses on', on, true],
];
// Phases alternate, round after round, so a change in the machine's load hits all of them alike.
const runs = PHASES.map(() => []);
for (let round = 0; round < ROUNDS; round++) {
  for (const [index, [, defenses, flood]] of PHASES.entries()) runs[index].push(await phase(defenses, flood));
}
console.table(PHASES.map(([name], index) => summary(name, runs[index])));
console.log(
  `${ROUNDS} rounds of ${SECONDS} s per phase, ${FLOOD} concurrent attacker requests, store ${REDIS_URL ? 'redis' : 'memory'}`,
);
rmSync(dir, { recursive: true, force: true });

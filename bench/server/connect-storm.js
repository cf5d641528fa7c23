// Connect storm on /emqx/authn: 50 users, each with its own argon2id hash (a cached login must not be a
// shared-hash artefact), against `mqtt-warden serve` without and with the password verification cache,
// and with the cache and the defenses on (their limits raised so that one address is never refused).
// The servers run side by side and alternate in rounds; each reports its own CPU per login.
// Build first (pnpm run build). Run: node bench/server/connect-storm.js [--seconds 5] [--rounds 3] [--connections 50]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { probe, startWarden, stop } from './children.js';
import { wardenConfig, writeWardenFiles } from './fixtures.js';
import { measure, spread } from './measure.js';

const USERS = 50;
const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
  },
});
const [seconds, rounds, connections] = [args.seconds, args.rounds, args.connections].map(Number);
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const startLoad = loadavg();

const dir = mkdtempSync(join(tmpdir(), 'warden-storm-'));
await writeWardenFiles(dir); // the policy
const { hashPassword } = await import('../../packages/password/dist/index.js');
const users = ['users:'];
for (let i = 0; i < USERS; i++) users.push(`  s${i}:\n    hash: ${await hashPassword(`pw-${i}`)}`);
writeFileSync(join(dir, 'storm.yaml'), `${users.join('\n')}\n`);
writeFileSync(join(dir, 'uncached.yaml'), wardenConfig('storm.yaml', { cache: false, onError: 'ignore' }));
// A cached login must stay cached for the whole run: at the default 30 s from its check, the entries
// expired in some rounds and not others, each expiry adding 50 argon2id verifications to that round.
const cache = { ttlMs: 3_600_000 };
writeFileSync(join(dir, 'cached.yaml'), wardenConfig('storm.yaml', { cache, onError: 'ignore' }));
// Every defense on with its defaults, except the limits one address (the bench) would hit: connects per
// address and client id, and the verification budget (storm shedding is bench/defenses' subject).
const defenses =
  '{ rateLimits: { connects: { perAddress: { points: 1000000 }, perClientId: { points: 1000000 } } }, storm: { recentPerSecond: { perSecond: 1000000, burst: 1000000 }, verificationsPerSecond: { perSecond: 100000, burst: 100000 } } }';
writeFileSync(join(dir, 'defended.yaml'), wardenConfig('storm.yaml', { cache, onError: 'ignore', defenses }));

const login = {
  path: '/emqx/authn',
  type: 'application/json',
  // The same 50 clients reconnecting (the default client-id rule wants the username as client id).
  encode: (i) => JSON.stringify({ username: `s${i}`, password: `pw-${i}`, clientid: `s${i}` }),
  allowed: (body) => JSON.parse(body).result === 'allow',
  // A verification that cannot get a turn in time is `unavailable`, answered `ignore` here: load shed.
  shed: (status, body) => status === 200 && JSON.parse(body).result === 'ignore',
};
const logins = () => {
  let k = 0;
  return () => k++ % USERS;
};
const contenders = [];
try {
  for (const mode of ['uncached', 'cached', 'defended']) {
    const server = await startWarden(join(dir, `${mode}.yaml`));
    contenders.push({ mode, server, next: logins(), runs: [] });
  }
  for (let r = 0; r < rounds; r++) {
    for (const c of contenders) {
      // Every user logs in once before each round: the cache holds a verification 30 s from its check.
      await measure(c.server, login, c.next, { connections: 1, amount: USERS });
      c.runs.push(await measure(c.server, login, c.next, { connections, seconds }));
      await settle(c.server);
    }
  }
} finally {
  for (const c of contenders) await stop(c.server);
  rmSync(dir, { recursive: true, force: true });
}

/** Waits until the server has finished the hashes still queued when autocannon stopped (< 5 % of a core). */
async function settle(server) {
  for (let before = await probe(server); ; ) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const now = await probe(server);
    if (now.cpuUs - before.cpuUs < 25_000) return;
    before = now;
  }
}

console.log(
  `\nNode ${process.version}, ${rounds} rounds of ${seconds} s, ${connections} connections, load average ${startLoad} at start, ${loadavg()} at end\n`,
);
console.log('| /emqx/authn, argon2id | logins/s | server CPU µs/login | p50 ms | p99 ms |');
console.log('|---|---:|---:|---:|---:|');
for (const { mode, runs } of contenders) {
  const col = (key, digits = 0) =>
    spread(
      runs.map((m) => m[key]),
      digits,
    );
  const label = mode === 'defended' ? 'cached, defenses on' : mode;
  console.log(
    `| ${label} | ${col('rps')} | ${col('cpuUsPerRequest')} | ${col('p50', 2)} | ${col('p99', 2)} |`,
  );
}
// Requests cut off by an overloaded server are a result; an answer other than allow is a broken bench.
for (const { mode, runs } of contenders) {
  for (const m of runs.filter((run) => run.bad > 0)) console.log(`${mode}, a round: ${m.failures}`);
}
if (contenders.some((c) => c.runs.some((m) => m.wrong > 0))) process.exitCode = 1;

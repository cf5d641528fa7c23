// Connect storm on /emqx/authn: 50 users, each with its own argon2id hash (a cached login must not be a
// shared-hash artefact), against `mqtt-warden serve` without and with the password verification cache.
// The two servers run side by side and alternate in rounds; each reports its own CPU per login.
// Build first (pnpm run build). Run: node bench/server/connect-storm.js [--seconds 5] [--rounds 3] [--connections 50]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startWarden, stop } from './children.js';
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
writeFileSync(join(dir, 'uncached.yaml'), wardenConfig('storm.yaml', { cache: false }));
writeFileSync(join(dir, 'cached.yaml'), wardenConfig('storm.yaml'));

const login = {
  path: '/emqx/authn',
  type: 'application/json',
  // The same 50 clients reconnecting (the default client-id rule wants the username as client id).
  encode: (i) => JSON.stringify({ username: `s${i}`, password: `pw-${i}`, clientid: `s${i}` }),
  allowed: (body) => JSON.parse(body).result === 'allow',
};
const logins = () => {
  let k = 0;
  return () => k++ % USERS;
};
const contenders = [];
try {
  for (const mode of ['uncached', 'cached']) {
    const server = await startWarden(join(dir, `${mode}.yaml`));
    contenders.push({ mode, server, next: logins(), runs: [] });
  }
  // Every user logs in once on both (the cached server then holds each verification for 30 s).
  for (const c of contenders) await measure(c.server, login, c.next, { connections: 1, amount: USERS });
  for (let r = 0; r < rounds; r++) {
    for (const c of contenders) c.runs.push(await measure(c.server, login, c.next, { connections, seconds }));
  }
} finally {
  for (const c of contenders) await stop(c.server);
  rmSync(dir, { recursive: true, force: true });
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
  console.log(
    `| ${mode} | ${col('rps')} | ${col('cpuUsPerRequest')} | ${col('p50', 2)} | ${col('p99', 2)} |`,
  );
}
const failed = contenders.flatMap((c) => c.runs).reduce((sum, m) => sum + m.bad, 0);
if (failed > 0) {
  console.error(`\n${failed} logins failed or were not allowed: the figures above do not count`);
  process.exitCode = 1;
}

// This checkout's `mqtt-warden serve` against another checkout's build, at the server level: both wardens on
// the last CPU, autocannon on the others, 1 s slices at one rate in turn (ABBA), server CPU per request of
// each slice and the median of the paired ratios this ÷ other. Both checkouts built (pnpm run build).
// Run: node bench/server/against-build.js OTHER_CHECKOUT [route 0 emqx|1 go-auth|2 rabbitmq] [connections 8]
//   [rate 7000] [slices 12] [slice seconds 1]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spread } from './measure.js';

const [other, route = '0', connections = '8', rate = '7000', slices = '12', seconds = '1'] =
  process.argv.slice(2);
if (!other)
  throw new Error(
    'usage: node bench/server/against-build.js OTHER_CHECKOUT [route] [connections] [rate] [slices] [seconds]',
  );
const cpus = availableParallelism();
if (cpus < 2) throw new Error('needs at least 2 CPUs: one for the servers, one for the load');
execFileSync('taskset', ['-a', '-pc', `0-${cpus - 2}`, String(process.pid)], { stdio: 'ignore' });

const here = fileURLToPath(new URL('../..', import.meta.url));
const dirs = [];
const contenders = [];
for (const [name, root] of [
  ['other', resolve(other)],
  ['this', here],
]) {
  // Each checkout's own bench modules, so that each starts its own bin.
  const children = await import(join(root, 'bench/server/children.js'));
  const fixtures = await import(join(root, 'bench/server/fixtures.js'));
  const { measure } = await import(join(root, 'bench/server/measure.js'));
  children.pinServers(cpus - 1);
  const dir = mkdtempSync(join(tmpdir(), 'warden-builds-'));
  dirs.push(dir);
  const server = await children.startWarden(await fixtures.writeWardenFiles(dir));
  const c = { name, root, children, measure, server, next: fixtures.allowedChecks(), cpu: [] };
  c.route = fixtures.ROUTES[Number(route)];
  contenders.push(c);
  await measure(server, c.route, c.next, { connections: Number(connections), amount: fixtures.CHECK_CYCLE });
}
try {
  for (let s = 0; s < Number(slices); s++) {
    for (const c of s % 2 ? [...contenders].reverse() : contenders) {
      const m = await c.measure(c.server, c.route, c.next, {
        connections: Number(connections),
        seconds: Number(seconds),
        rate: Number(rate),
      });
      if (m.bad > 0) throw new Error(`${c.name} build: ${m.failures}`);
      c.cpu.push(m.cpuUsPerRequest);
    }
  }
} finally {
  for (const c of contenders) await c.children.stop(c.server);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}
const [theirs, ours] = contenders;
console.log(
  `${ours.route.path}, ${connections} connections at ${rate} req/s, ${slices} slices of ${seconds} s each`,
);
for (const c of contenders) console.log(`${c.name} (${c.root}): ${spread(c.cpu, 1)} µs CPU a request`);
console.log(
  `this ÷ other, paired slices: ${spread(
    ours.cpu.map((x, i) => x / theirs.cpu[i]),
    3,
  )}`,
);

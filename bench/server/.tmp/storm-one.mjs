import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { probe, startWarden, stop } from '/work/wt-benchsrv/bench/server/children.js';
import { wardenConfig, writeWardenFiles } from '/work/wt-benchsrv/bench/server/fixtures.js';

const dir = mkdtempSync('/tmp/benchsrv/storm-');
await writeWardenFiles(dir);
const { hashPassword } = await import('/work/wt-benchsrv/packages/password/dist/index.js');
const N = Number(process.argv[2] ?? 50);
const users = ['users:'];
for (let i = 0; i < N; i++) users.push(`  s${i}:\n    hash: ${await hashPassword(`pw-${i}`)}`);
writeFileSync(join(dir, 'storm.yaml'), `${users.join('\n')}\n`);
writeFileSync(join(dir, 'cached.yaml'), wardenConfig('storm.yaml') + (process.argv[3] ?? ''));
const s = await startWarden(join(dir, 'cached.yaml'));
let k = 0;
const statuses = {};
const run = async (conns, amount) => {
  const b = await probe(s);
  const r = await autocannon({
    url: s.url,
    connections: conns,
    ...(amount ? { amount } : { duration: 5 }),
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        setupRequest: (q) => {
          const i = k++ % N;
          return {
            ...q,
            path: '/emqx/authn',
            body: JSON.stringify({ username: `s${i}`, password: `pw-${i}`, clientid: `s${i}` }),
          };
        },
        onResponse: (st, body) => {
          const key = st + ' ' + body.slice(0, 20);
          statuses[key] = (statuses[key] ?? 0) + 1;
        },
      },
    ],
  });
  const a = await probe(s);
  console.log(
    conns,
    r.requests.total,
    'req',
    (r.requests.total / r.duration).toFixed(0),
    '/s',
    ((a.cpuUs - b.cpuUs) / r.requests.total).toFixed(0),
    'us/req',
    'errors',
    r.errors,
    'timeouts',
    r.timeouts,
    JSON.stringify(statuses),
  );
};
await run(1, N);
await run(50);
await run(1, 500);
await stop(s);

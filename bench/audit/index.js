// Audit trail cost on the decision path: node bench/audit/index.js   (after `pnpm run build`)
// The guard's cached authorize over 20k distinct requests (1,000 devices × 20 topics), without an audit
// hook and with the trail (allows sampled at 1 %, a file sink), in 7 alternating 1 s slices; then the
// same for refusals, which are all recorded. Prints each setup's median decisions per second.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuditTrail, FileSink } from '../../packages/audit/dist/index.js';
import { createGuard } from '../../packages/core/dist/index.js';
import { compilePolicy } from '../../packages/policy/dist/index.js';

const policy = compilePolicy({
  version: 1,
  roles: {
    device: {
      clientIds: '*',
      rules: [{ effect: 'allow', actions: ['publish', 'subscribe'], topics: 'devices/${clientid}/#' }],
    },
  },
  bindings: [{ when: { method: 'password' }, roles: ['device'] }],
});
const principals = Array.from({ length: 1_000 }, (_, n) => ({
  id: `dev${n}`,
  clientId: `dev${n}`,
  username: `dev${n}`,
  method: 'password',
  roles: [],
  attributes: {},
  remoteAddress: `10.0.${n >> 8}.${n & 255}`,
}));
const requests = (own) =>
  principals.flatMap((p, n) =>
    Array.from({ length: 20 }, (_, t) => [
      p,
      { action: 'publish', topic: `devices/${own ? p.clientId : `dev${(n + 1) % 1000}`}/t${t}` },
    ]),
  );

const dir = mkdtempSync(join(tmpdir(), 'bench-audit-'));
const trail = createAuditTrail({
  sinks: [new FileSink({ path: join(dir, 'audit.jsonl') })],
  sampleAllows: 0.01,
});
const plain = createGuard({ authenticators: [], authorizer: policy });
const audited = createGuard({ authenticators: [], authorizer: policy, ...trail.guardHooks });

function rate(guard, list, ms) {
  let count = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (let i = 0; i < list.length; i++) guard.authorize(list[i][0], list[i][1]);
    count += list.length;
  }
  return count / (ms / 1000);
}

const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [name, list] of [
  ['allowed (1 % sampled)', requests(true)],
  ['refused (all recorded)', requests(false)],
]) {
  rate(plain, list, 300);
  rate(audited, list, 300);
  const a = [];
  const b = [];
  for (let i = 0; i < 7; i++) {
    a.push(rate(plain, list, 1000));
    b.push(rate(audited, list, 1000));
    // Let the file sink write what was queued, as it would between bursts.
    await trail.flush(10_000);
  }
  const [x, y] = [median(a), median(b)];
  console.log(
    `${name}: no audit ${Math.round(x).toLocaleString('en')}/s, with the trail ${Math.round(y).toLocaleString('en')}/s (${(y / x).toFixed(2)}×)`,
  );
}
console.log(`dropped by the file sink's queue: ${trail.queues[0].dropped.toLocaleString('en')}`);
await trail.close();

// What sharing the request buckets through Redis costs on the authorization path: authorize() calls per
// second through defenses.protect(guard), memory store against Redis-shared buckets (the flush running
// every 200 ms in the same event loop), over KEYS principals, limits high enough never to refuse.
// Contenders alternate in each round; medians and spread are printed with the load average.
// Run after a build, with Redis on 127.0.0.1:6379: `pnpm run build && node bench/defenses/authorize.js`
// (ROUNDS, default 5; SECONDS per contender and round, default 2; KEYS, default 1000).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { createGuard } from '../../packages/core/dist/index.js';
import { createDefenses } from '../../packages/defenses/dist/index.js';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const SECONDS = Number(process.env.SECONDS ?? 2);
const KEYS = Number(process.env.KEYS ?? 1000);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `bench-authorize-${randomUUID()}`;

const high = { perSecond: 10_000_000, burst: 1_000_000 };
const limits = { requests: { perAddress: high, perClientId: high, perPrincipal: high } };
const contenders = {
  memory: await createDefenses({ lockout: { enabled: false }, rateLimits: limits }),
  'redis-shared': await createDefenses({
    store: { redis: { url: REDIS_URL, keyPrefix: prefix } },
    lockout: { enabled: false },
    rateLimits: limits,
  }),
};
const guard = createGuard({
  authenticators: [],
  authorizer: { authorize: () => ({ allowed: true, reason: 'rule' }) },
});
const principals = Array.from({ length: KEYS }, (_, i) => ({
  id: `device-${i}`,
  clientId: `device-${i}`,
  method: 'password',
  roles: [],
  attributes: {},
  remoteAddress: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
}));
const request = { action: 'publish', topic: 'devices/x/t' };

async function run(defenses) {
  const g = defenses.protect(guard);
  const end = performance.now() + SECONDS * 1000;
  let calls = 0;
  let refused = 0;
  while (performance.now() < end) {
    // Batches, so the flush timer gets its turns as it would between a broker's requests.
    for (let i = 0; i < 5000; i++) {
      if (!g.authorize(principals[calls % KEYS], request).allowed) refused++;
      calls++;
    }
    await yieldToLoop();
  }
  if (refused > 0) throw new Error(`${refused} refused: the limits are meant never to refuse here`);
  return calls / SECONDS;
}

const results = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]));
const loads = [];
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? Object.keys(contenders) : Object.keys(contenders).reverse();
  for (const name of order) results[name].push(await run(contenders[name]));
  loads.push(readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n) => Math.round(n).toLocaleString('en-US');
console.log(
  `authorize() calls/s over ${KEYS} principals, ${ROUNDS} rounds x ${SECONDS} s (load average per round: ${loads.join(' | ')})`,
);
for (const [name, xs] of Object.entries(results)) {
  console.log(
    `${name.padEnd(13)} median ${fmt(median(xs))}/s  min ${fmt(Math.min(...xs))}  max ${fmt(Math.max(...xs))}`,
  );
}
const shared = contenders['redis-shared'].stats().shared;
console.log(`redis-shared: ${shared.errors} store errors`);
for (const defenses of Object.values(contenders)) await defenses.close();

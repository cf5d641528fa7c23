// Decision-cache A/B: node --expose-gc bench/policy/cache.js [other/core/dist/index.js …]   (after `pnpm run build`)
// EXPIRING=1: principals carry expiresAt (the guard checks it on every request).
// Cached `guard.authorize` hits over REQUESTS (default 200,000) distinct requests of 10,000 principals, the
// request shapes of bench/policy/index.js, for this build's guard and any other builds of
// packages/core given as arguments (e.g. a copy of the previous dist), in one process and alternating slices
// so that the shared machine's load hits every contender alike. The authorizer is trivial (shared decision
// objects): what is measured is the cache, not policy evaluation.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROLES, RULES_PER_ROLE, seededRandom } from './fleet-policy.js';

const PRINCIPALS = 10_000;
const REQUESTS = Number(process.env.REQUESTS ?? 200_000);
const ROUNDS = Number(process.env.ROUNDS ?? 9);
const SLICE_MS = Number(process.env.SLICE_MS ?? 500);

// EXPIRING=1 gives every principal an expiry an hour away, as a JWT login does.
const expiresAt = process.env.EXPIRING ? Date.now() + 3_600_000 : undefined;

const { random, pick, int } = seededRandom();
const principals = Array.from({ length: PRINCIPALS }, (_, i) => ({
  id: `u${i}`,
  clientId: `c${i}`,
  username: `u${i}`,
  method: 'password',
  roles: [`role${int(ROLES)}`],
  attributes: {},
  ...(expiresAt && { expiresAt }),
}));
const ACTIONS = ['publish', 'subscribe', 'receive'];
function randomTopic(principal, action) {
  const r = Number(principal.roles[0].slice(4));
  const site = random() < 0.8 ? r : int(ROLES);
  const shape = random();
  if (shape < 0.1) return `users/${principal.username}/site${site}/box${int(RULES_PER_ROLE)}`;
  if (action === 'subscribe' && shape < 0.3) return `site${site}/dev${int(50)}/#`;
  return `site${site}/dev${int(50)}/sensor${int(RULES_PER_ROLE)}`;
}
const requests = Array.from({ length: REQUESTS }, () => {
  const principal = pick(principals);
  const action = pick(ACTIONS);
  return [principal, { action, topic: randomTopic(principal, action), qos: int(2) }];
});

const ALLOW = { allowed: true, reason: 'rule' };
const DENY = { allowed: false, reason: 'default' };
const authorizer = { authorize: (_p, r) => (r.topic.length & 1 ? ALLOW : DENY) };
const cache = { max: 1_000_000, ttlMs: 600_000, maxBytes: 128 * 2 ** 20 };

const builds = [new URL('../../packages/core/dist/index.js', import.meta.url).href].concat(
  process.argv.slice(2).map((p) => pathToFileURL(resolve(p)).href),
);
const contenders = [];
for (const url of builds) {
  const { createGuard } = await import(url);
  const guard = createGuard({ authenticators: [], authorizer, cache });
  for (const [principal, request] of requests) guard.authorize(principal, request);
  contenders.push({ url, guard, samples: [], cpuSamples: [], cursor: 0, warm: guard.stats() });
}

const loads = [];
for (let round = 0; round < ROUNDS; round++) {
  for (const c of contenders) {
    const { guard } = c;
    let i = c.cursor;
    let n = 0;
    const cpu = process.cpuUsage();
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < SLICE_MS) {
      for (let k = 0; k < 256; k++) {
        const [principal, request] = requests[i];
        guard.authorize(principal, request);
        if (++i === requests.length) i = 0;
      }
      n += 256;
      elapsed = performance.now() - start;
    }
    c.cursor = i;
    c.samples.push(n / (elapsed / 1000));
    const used = process.cpuUsage(cpu);
    c.cpuSamples.push(n / ((used.user + used.system) / 1e6));
  }
  loads.push(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

const fmt = (x) => Math.round(x).toLocaleString('en-US');
console.log(
  `node ${process.version}, ${REQUESTS.toLocaleString('en-US')} distinct requests, ${ROUNDS} rounds of ${SLICE_MS} ms${expiresAt ? ', principals with expiresAt' : ''}`,
);
console.log(`load average (1 min) after each round: ${loads.join(' ')}`);
const base = contenders[0];
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const spread = (xs) => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;
for (const c of contenders) {
  const stats = c.guard.stats();
  const hits = stats.cacheHits - c.warm.cacheHits;
  const misses = stats.cacheMisses - c.warm.cacheMisses;
  const ratios = c.samples.map((x, r) => x / base.samples[r]);
  const cpuRatios = c.cpuSamples.map((x, r) => x / base.cpuSamples[r]);
  console.log(
    `${c.url.replace(/^.*?packages\//, '')}: hits after the warm-up pass ${((hits / (hits + misses)) * 100).toFixed(1)}%\n` +
      `  wall: median ${fmt(median(c.samples))}/s (${spread(c.samples)}), ÷ this build per round ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})\n` +
      `  per CPU second: median ${fmt(median(c.cpuSamples))}/s = ${fmt(1e9 / median(c.cpuSamples))} ns a decision (${spread(c.cpuSamples)}), ÷ this build ${median(cpuRatios).toFixed(2)} (${Math.min(...cpuRatios).toFixed(2)}–${Math.max(...cpuRatios).toFixed(2)})`,
  );
}

// What a cached decision's parts cost: node bench/policy/hit-parts.js   (after `pnpm run build`)
// The requests of bench/policy/cache.js (200k distinct, 10k principals, trivial authorizer); each part runs
// over all of them in ROUNDS alternating slices; medians in ns of process CPU per request:
// a bare loop, a bare Map.get of the topic over a Map of the same topics, cacheTopic, DecisionKeys.key
// (principal number by WeakMap, request slot), DecisionCache.get with keys computed beforehand, both, the
// guard's whole hit, Date.now().

import { ROLES, RULES_PER_ROLE, seededRandom } from './fleet-policy.js';

const dist = new URL('../../packages/core/dist/', import.meta.url);
const { createGuard } = await import(new URL('index.js', dist).href);
const { DecisionCache } = await import(new URL('decision-cache.js', dist).href);
const { DecisionKeys, cacheTopic } = await import(new URL('decision-keys.js', dist).href);

const REQUESTS = 200_000;
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const SLICE_MS = Number(process.env.SLICE_MS ?? 250);

const { random, pick, int } = seededRandom();
const principals = Array.from({ length: 10_000 }, (_, i) => ({
  id: `u${i}`,
  clientId: `c${i}`,
  username: `u${i}`,
  method: 'password',
  roles: [`role${int(ROLES)}`],
  attributes: {},
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
const options = { max: 1_000_000, ttlMs: 600_000, maxBytes: 128 * 2 ** 20 };
const guard = createGuard({ authenticators: [], authorizer, cache: options });
const cache = new DecisionCache(options);
const keys = new DecisionKeys({ entries: options.max, bytes: options.maxBytes }, () => {});
const map = new Map();
for (const [p, r] of requests) {
  guard.authorize(p, r);
  cache.set(r.topic, keys.key(p, r), authorizer.authorize(p, r));
  map.set(r.topic, 1);
}
const precomputed = requests.map(([p, r]) => keys.key(p, r));

const parts = {
  'loop alone': (_p, r) => r.topic,
  'Map.get(topic), bare': (_p, r) => map.get(r.topic),
  cacheTopic: (_p, r) => cacheTopic(r, 1024),
  'DecisionKeys.key': (p, r) => keys.key(p, r),
  'DecisionCache.get, key given': (_p, r, i) => cache.get(r.topic, precomputed[i]),
  'key + DecisionCache.get': (p, r) => cache.get(r.topic, keys.key(p, r)),
  'guard.authorize, hit': (p, r) => guard.authorize(p, r),
  'Date.now()': () => Date.now(),
};
const names = Object.keys(parts);
const samples = names.map(() => []);
let misses = 0;
for (let round = 0; round < ROUNDS; round++) {
  names.forEach((name, c) => {
    const fn = parts[name];
    let i = 0;
    let n = 0;
    const cpu = process.cpuUsage();
    const start = performance.now();
    while (performance.now() - start < SLICE_MS) {
      for (let k = 0; k < 1024; k++) {
        const [p, r] = requests[i];
        if (fn(p, r, i) === undefined) misses++;
        if (++i === REQUESTS) i = 0;
      }
      n += 1024;
    }
    const used = process.cpuUsage(cpu);
    samples[c].push(((used.user + used.system) * 1000) / n);
  });
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(`node ${process.version}, ns per request per CPU second, median (min–max) of ${ROUNDS} slices`);
names.forEach((name, c) => {
  const xs = samples[c];
  console.log(
    `${name.padEnd(30)} ${median(xs).toFixed(0).padStart(5)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`,
  );
});
if (misses > 0) console.log(`${misses} lookups missed (expected none)`);

// Policy engine benchmark: node --expose-gc bench/policy/index.js   (after `pnpm run build`)
// 10k principals, 1k roles, 100k rules (literal, wildcard, templated); random publish/subscribe/receive.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compilePolicy, parsePolicy } from '../../packages/policy/dist/index.js';
import { filterCovers, filtersOverlap, matchTopic } from '../../packages/topic/dist/index.js';
import { fleetPolicy, ROLES, RULES_PER_ROLE, seededRandom } from './fleet-policy.js';

// BASELINE_CORE_DIST=path/to/other/core/dist/index.js adds that build's guard as a fourth contender, in
// the same alternating slices (an A/B of the cache in this bench's setting).
const { createGuard } = await import('../../packages/core/dist/index.js');
const baseline = process.env.BASELINE_CORE_DIST;
const { createGuard: createBaselineGuard } = baseline
  ? await import(pathToFileURL(resolve(baseline)).href)
  : {};

const PRINCIPALS = 10_000;
const REQUESTS = Number(process.env.REQUESTS ?? 200_000);

// --- the policy document --------------------------------------------------------------------------
// One PRNG for the policy, then the principals and requests, as before the generator moved out.
const rng = seededRandom();
const { random, pick, int } = rng;
const document = fleetPolicy(rng);
const { roles } = document;

// --- principals and requests ------------------------------------------------------------------------
const principals = [];
for (let i = 0; i < PRINCIPALS; i++) {
  const n = 1 + int(3);
  const mine = [...new Set(Array.from({ length: n }, () => `role${int(ROLES)}`))];
  principals.push({
    id: `u${i}`,
    clientId: `c${i}`,
    username: `u${i}`,
    method: 'password',
    roles: mine,
    attributes: {},
  });
}
const ACTIONS = ['publish', 'subscribe', 'receive'];
function randomTopic(principal, action) {
  const r = Number(pick(principal.roles).slice(4));
  const site = random() < 0.8 ? r : int(ROLES);
  const shape = random();
  if (shape < 0.1) return `users/${principal.username}/site${site}/box${int(RULES_PER_ROLE)}`;
  if (action === 'subscribe' && shape < 0.3) return `site${site}/dev${int(50)}/#`;
  if (action === 'subscribe' && shape < 0.4) return `site${site}/+/sensor${int(RULES_PER_ROLE)}`;
  return `site${site}/dev${int(50)}/sensor${int(RULES_PER_ROLE)}`;
}
const requests = [];
for (let i = 0; i < REQUESTS; i++) {
  const principal = pick(principals);
  const action = pick(ACTIONS);
  requests.push([principal, { action, topic: randomTopic(principal, action), qos: int(2) }]);
}

// --- a naive evaluator: every rule of the principal's roles, matchTopic/filterCovers per rule -------
const EXPAND = {
  publish: ['publish'],
  subscribe: ['subscribe'],
  receive: ['receive'],
  read: ['subscribe', 'receive'],
  write: ['publish'],
};
const naiveRoles = new Map(
  Object.entries(roles).map(([name, { rules }]) => [
    name,
    rules.flatMap((rule) =>
      rule.topics.map((topic) => ({
        effect: rule.effect,
        actions: new Set(rule.actions.flatMap((a) => EXPAND[a])),
        topic,
      })),
    ),
  ]),
);
function naiveAuthorize(principal, request) {
  let allowed = false;
  for (const role of principal.roles) {
    for (const rule of naiveRoles.get(role)) {
      const topic = rule.topic.includes('${')
        ? rule.topic.replace('${username}', principal.username)
        : rule.topic;
      if (request.action === 'subscribe') {
        if (
          rule.effect === 'deny' &&
          (rule.actions.has('subscribe') || rule.actions.has('receive')) &&
          filtersOverlap(topic, request.topic)
        )
          return false;
        if (rule.effect === 'allow' && rule.actions.has('subscribe') && filterCovers(topic, request.topic))
          allowed = true;
      } else if (rule.actions.has(request.action) && matchTopic(topic, request.topic)) {
        if (rule.effect === 'deny') return false;
        allowed = true;
      }
    }
  }
  return allowed;
}

// --- measurements --------------------------------------------------------------------------------------
const gc = globalThis.gc ?? (() => {});
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
/**
 * CPU ms of the main thread alone (Linux; null elsewhere), in 10 ms ticks. `process.cpuUsage` counts the
 * whole process: V8's background GC threads, which mark and sweep the garbage of the allocating
 * contenders (the naive scan, the uncached policy) while the next contender's slice runs.
 */
function mainThreadMs() {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

/**
 * Decisions per second of each contender, run in alternating slices of `ms` (each resumes where its last
 * slice stopped in the requests) with the median of `rounds` slices: load changes on a shared machine
 * then hit all contenders alike and the ratios hold.
 */
function race(contenders, rounds = 7, ms = 700) {
  const samples = contenders.map(() => []);
  const cpuSamples = contenders.map(() => []);
  const mainSamples = contenders.map(() => []);
  const cursors = contenders.map(() => 0);
  for (let r = 0; r < rounds; r++) {
    contenders.forEach((fn, c) => {
      let i = cursors[c];
      let n = 0;
      const cpu = process.cpuUsage();
      const main = mainThreadMs();
      const start = performance.now();
      let elapsed = 0;
      while (elapsed < ms) {
        for (let k = 0; k < 256; k++) {
          const [principal, request] = requests[i];
          fn(principal, request);
          if (++i === requests.length) i = 0;
        }
        n += 256;
        elapsed = performance.now() - start;
      }
      cursors[c] = i;
      samples[c].push(n / (elapsed / 1000));
      const used = process.cpuUsage(cpu);
      cpuSamples[c].push(n / ((used.user + used.system) / 1e6));
      if (main !== null) mainSamples[c].push(n / ((mainThreadMs() - main) / 1000));
    });
  }
  // Per CPU second too: on a loaded machine the wall rate is mostly the share of a core the bench got.
  const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
  return {
    wall: samples.map(median),
    cpu: cpuSamples.map(median),
    main: mainSamples.map((xs) => (xs.length > 0 ? median(xs) : null)),
  };
}

const jsonText = JSON.stringify(document, null, 1);
let t = performance.now();
parsePolicy(jsonText, { file: 'bench.json' });
const parseMs = performance.now() - t;

const before = heap();
t = performance.now();
const policy = compilePolicy(document);
const compileMs = performance.now() - t;
const compiledHeap = heap() - before;

// Agreement check: the index must decide like the naive scan.
let disagreements = 0;
for (const [principal, request] of requests.slice(0, 20_000)) {
  if (policy.authorize(principal, request).allowed !== naiveAuthorize(principal, request)) disagreements++;
}
const allowedShare = requests.filter(([p, r]) => policy.authorize(p, r).allowed).length / requests.length;

t = performance.now();
for (const [principal, request] of requests) policy.authorize(principal, request);
const firstPassMs = performance.now() - t;
const profilesHeap = heap() - before;

const guardOptions = {
  authenticators: [],
  authorizer: policy,
  // Sized for the working set: 200k requests carry ~196k distinct topics, ~33 MiB as the cache counts
  // them with their decisions, and one generation gets half of maxBytes; under the default 16 MiB the
  // cache would keep dropping generations before a cyclic pass came back to a topic.
  cache: { max: 1_000_000, ttlMs: 600_000, maxBytes: 128 * 2 ** 20 },
};
const guard = createGuard(guardOptions);
for (const [principal, request] of requests) guard.authorize(principal, request);
const baselineGuard = createBaselineGuard?.(guardOptions);
if (baselineGuard) for (const [principal, request] of requests) baselineGuard.authorize(principal, request);
const warm = guard.stats();
const loadBefore = readFileSync('/proc/loadavg', 'utf8').trim();
const {
  wall: [naive, uncached, cached, baselineCached],
  cpu: [, , cachedCpu, baselineCpu],
  main: [, , cachedMain, baselineMain],
} = race([
  naiveAuthorize,
  (p, r) => policy.authorize(p, r),
  (p, r) => guard.authorize(p, r),
  ...(baselineGuard ? [(p, r) => baselineGuard.authorize(p, r)] : []),
]);
const stats = guard.stats();
const hits = stats.cacheHits - warm.cacheHits;
const hitRate = hits / (hits + stats.cacheMisses - warm.cacheMisses);

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const rows = [
  ['rules / roles / principals', `${fmt(policy.ruleCount)} / ${fmt(ROLES)} / ${fmt(PRINCIPALS)}`],
  ['parse (YAML parser, JSON text) + compile', `${fmt(parseMs)} ms`],
  ['compile (validated object)', `${fmt(compileMs)} ms`],
  ['heap: compiled policy', `${(compiledHeap / 2 ** 20).toFixed(1)} MiB`],
  ['heap: + 10k principal profiles', `${(profilesHeap / 2 ** 20).toFixed(1)} MiB`],
  ['first pass (builds profiles)', `${fmt(REQUESTS / (firstPassMs / 1000))} decisions/s`],
  ['naive scan', `${fmt(naive)} decisions/s`],
  ['indexed, uncached', `${fmt(uncached)} decisions/s (${(uncached / naive).toFixed(1)}× naive)`],
  [
    'through createGuard, cached',
    `${fmt(cached)} decisions/s (hit rate after the warm-up pass ${(hitRate * 100).toFixed(1)}%)`,
  ],
  ['cached, per CPU second', `${fmt(cachedCpu)} decisions/s = ${fmt(1e9 / cachedCpu)} ns a decision`],
  ...(cachedMain === null
    ? []
    : [
        [
          'cached, per main-thread CPU second',
          `${fmt(cachedMain)} decisions/s = ${fmt(1e9 / cachedMain)} ns a decision`,
        ],
      ]),
  ...(baselineGuard
    ? [
        [
          'cached, baseline build',
          `${fmt(baselineCached)} decisions/s, ${fmt(1e9 / baselineCpu)} ns a decision per CPU second` +
            (baselineMain === null ? '' : `, ${fmt(1e9 / baselineMain)} ns per main-thread CPU second`) +
            ` (${baseline})`,
        ],
      ]
    : []),
  ['allowed share / disagreements', `${(allowedShare * 100).toFixed(1)}% / ${disagreements} of 20,000`],
];
const width = Math.max(...rows.map(([k]) => k.length));
console.log(`node ${process.version}, ${REQUESTS.toLocaleString('en-US')} distinct requests`);
for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
console.log(
  `load average before / after the timed slices: ${loadBefore} / ${readFileSync('/proc/loadavg', 'utf8').trim()}`,
);
if (disagreements > 0) process.exitCode = 1;

// TopicIndex.match vs a linear scan with matchTopic vs qlobber 8 (MQTT options), same filters and topics.
// Run: pnpm build && node --expose-gc bench/topic/index.js [sizes...]   (default 1000 10000 100000 1000000)
// FLEET=growing: the number of tenants grows with the filters (filters / 5) instead of staying at 200.
import { createRequire } from 'node:module';
import { matchTopic, TopicIndex } from '../../packages/topic/dist/index.js';

const { Qlobber } = createRequire(import.meta.url)('qlobber');
const sizes = process.argv.slice(2).map(Number);
if (sizes.length === 0) sizes.push(1_000, 10_000, 100_000, 1_000_000);
if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc to measure heap per filter');
  process.exit(2);
}

// Deterministic PRNG (mulberry32) so runs are comparable; an LCG's low bits cycle too soon here.
let seed = 42;
const rnd = (n) => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((((t ^ (t >>> 14)) >>> 0) / 4_294_967_296) * n) | 0;
};
const KINDS = ['telemetry', 'status', 'commands', 'config'];
const METRICS = ['temp', 'humidity', 'battery', 'rssi', 'pressure'];
const SITES = 50;
const DEVICES = 2_000;
// The fixed fleet has 200 tenants at every size: at 1M filters its wildcard filters fill the topic space,
// so a topic matches 6.6x more filters than at 1k. The growing fleet keeps 5 filters per tenant (200
// tenants at 1k filters, as the fixed one), so the answers stay the same size and only the index grows.
const growing = process.env.FLEET === 'growing';
let tenants = 200;
const topicOf = () =>
  `t${rnd(tenants)}/s${rnd(SITES)}/d${rnd(DEVICES)}/${KINDS[rnd(KINDS.length)]}/${METRICS[rnd(METRICS.length)]}`;

/** A fleet-shaped filter: 70 % literal, 15 % with `+`, 15 % ending in `#`. */
function filterOf() {
  const [t, s, d, k, m] = topicOf().split('/');
  const r = rnd(100);
  if (r < 70) return `${t}/${s}/${d}/${k}/${m}`;
  if (r < 75) return `${t}/+/+/${k}/${m}`;
  if (r < 80) return `${t}/${s}/+/${k}/+`;
  if (r < 85) return `+/${s}/${d}/+/${m}`;
  if (r < 92) return `${t}/${s}/${d}/#`;
  if (r < 97) return `${t}/${s}/#`;
  return `${t}/#`;
}

function heapDelta(build) {
  globalThis.gc();
  const before = process.memoryUsage().heapUsed;
  const value = build();
  globalThis.gc();
  return { value, bytes: process.memoryUsage().heapUsed - before };
}

/** Matches per second of `fn` over the topics during one slice of at least `ms` milliseconds. */
function slice(fn, topics, ms) {
  let n = 0;
  let batch = 1; // grows so that the clock is read rarely for fast contenders and often for slow ones
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < batch; i++) fn(topics[n++ % topics.length]);
    elapsed = performance.now() - start;
    if (batch < 64) batch *= 2;
  }
  return (n / elapsed) * 1000;
}

/**
 * The machine may be shared: run the contenders in alternating slices and keep each one's median, so that
 * load changes hit all of them alike and the ratios stay meaningful.
 */
function race(contenders, topics, rounds = 7, ms = 250) {
  const samples = contenders.map(() => []);
  for (let r = 0; r < rounds; r++) {
    contenders.forEach((fn, i) => {
      samples[i].push(slice(fn, topics, ms));
    });
  }
  return samples.map((xs) => xs.sort((a, b) => a - b)[xs.length >> 1]);
}

const fmt = (x) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(2));
const rows = [];
console.log(`fleet: ${growing ? 'growing (tenants = filters / 5)' : 'fixed (200 tenants)'}`);
for (const size of sizes) {
  if (growing) tenants = Math.max(1, Math.round(size / 5));
  const set = new Set();
  while (set.size < size) set.add(filterOf());
  const filters = [...set];
  // Half the topics fall inside a filter's space, half are random: most real traffic has a subscriber.
  const topics = Array.from({ length: 10_000 }, (_, i) =>
    i % 2 ? topicOf() : filters[rnd(filters.length)].replaceAll('+', `x${rnd(9)}`).replace('#', 'a/b'),
  );

  const index = heapDelta(() => {
    const ix = new TopicIndex();
    for (let i = 0; i < filters.length; i++) ix.add(filters[i], i);
    return ix;
  });
  const qlobber = heapDelta(() => {
    const q = new Qlobber({
      separator: '/',
      wildcard_one: '+',
      wildcard_some: '#',
      match_empty_levels: true,
    });
    for (let i = 0; i < filters.length; i++) q.add(filters[i], i);
    return q;
  });

  // The same answers first (qlobber's `$` rule aside: these topics have none), then the speed.
  for (const t of topics.slice(0, 200)) {
    const a = index.value
      .match(t)
      .sort((x, y) => x - y)
      .join();
    const b = qlobber.value
      .match(t)
      .sort((x, y) => x - y)
      .join();
    if (a !== b) throw new Error(`TopicIndex and qlobber disagree on ${t}: ${a} vs ${b}`);
  }
  const [ours, theirs, linear] = race(
    [
      (t) => index.value.match(t),
      (t) => qlobber.value.match(t),
      (t) => filters.filter((f) => matchTopic(f, t)),
    ],
    topics,
  );
  const hits = topics.reduce((sum, t) => sum + index.value.match(t).length, 0) / topics.length;
  rows.push({
    filters: size.toLocaleString('en-US'),
    'matches/topic': hits.toFixed(2),
    'TopicIndex match/s': fmt(ours),
    'qlobber match/s': fmt(theirs),
    'linear match/s': fmt(linear),
    'vs qlobber': `${(ours / theirs).toFixed(2)}×`,
    'vs linear': `${fmt(ours / linear)}×`,
    'ns/match': fmt(1e9 / ours),
    'index B/filter': Math.round(index.bytes / size),
    'qlobber B/filter': Math.round(qlobber.bytes / size),
  });
  console.error(`done ${size} filters`);
}
console.table(rows);
const first = rows[0];
const last = rows[rows.length - 1];
const cost = (r) => Number(r['ns/match'].replaceAll(',', ''));
console.log(
  `cost per match at ${last.filters} filters / at ${first.filters}: ${(cost(last) / cost(first)).toFixed(2)}×`,
);

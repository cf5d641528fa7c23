// Aedes with and without the mqtt-warden guard, one run: publish throughput (1 publisher → 10
// subscribers, QoS 0 and QoS 1) and connects per second (password logins, credentials cached after the
// first). The broker runs in a child process so that client work does not share its CPU; besides
// wall-clock rates it reports the broker's CPU time per operation (µs/op), which stays meaningful on a
// busy machine where wall-clock rates mostly measure the neighbours.
// Run: pnpm build && node bench/aedes/index.js [messages=20000] [connects=2000]
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';

const MESSAGES = Number(process.argv[2] ?? 20_000);
const CONNECTS = Number(process.argv[3] ?? 2_000);
const SUBSCRIBERS = 10;
const CONNECT_CONCURRENCY = 10;
const ROUNDS = 3;
const brokerScript = fileURLToPath(new URL('broker.js', import.meta.url));

async function startBroker(kind) {
  const child = fork(brokerScript, [kind], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [{ port }] = await once(child, 'message');
  const cpu = async () => {
    child.send('cpu');
    const [{ cpu: micros }] = await once(child, 'message');
    return micros;
  };
  return { url: `mqtt://127.0.0.1:${port}`, cpu, stop: () => child.kill() };
}

function login(url, username, clientId, extra = {}) {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, {
      clientId,
      username,
      password: 'bench-password',
      reconnectPeriod: 0,
      protocolVersion: 4,
      ...extra,
    });
    client.once('connect', () => resolve(client));
    client.once('error', reject);
    client.once('close', () => reject(new Error(`${clientId}: connection closed`)));
  });
}

const endClient = (client) => new Promise((resolve) => client.end(false, {}, resolve));

/** Messages per second delivered from one publisher to every subscriber (a message counts once). */
async function publishRate(url, qos) {
  const subscribers = [];
  let received = 0;
  const target = MESSAGES * SUBSCRIBERS;
  let finish;
  const allReceived = new Promise((resolve) => {
    finish = resolve;
  });
  for (let i = 0; i < SUBSCRIBERS; i++) {
    const sub = await login(url, 'reader', `reader-${qos}-${i}`);
    await sub.subscribeAsync('bench/#', { qos });
    sub.on('message', () => {
      if (++received === target) finish();
    });
    subscribers.push(sub);
  }
  const pub = await login(url, 'publisher', `publisher-${qos}`);
  const payload = Buffer.alloc(64, 1);
  const start = performance.now();
  for (let i = 0; i < MESSAGES; i++) {
    const written = pub.publish(`bench/device-${i % 100}/telemetry`, payload, { qos });
    // Let the socket drain now and then so QoS 0 is not just buffered in the client.
    if (i % 1000 === 999 && written.stream?.writableNeedDrain) await once(pub.stream, 'drain');
  }
  const timeout = setTimeout(() => finish(), 120_000);
  await allReceived;
  clearTimeout(timeout);
  const seconds = (performance.now() - start) / 1000;
  if (received < target) throw new Error(`only ${received} of ${target} deliveries within 120 s`);
  await Promise.all([pub, ...subscribers].map(endClient));
  return { rate: MESSAGES / seconds, ops: MESSAGES };
}

/** Connect (CONNACK 0) + disconnect per second, CONNECT_CONCURRENCY at a time. */
async function connectRate(url) {
  // Warm-up: the first login of a user pays for argon2id; later ones hit the success cache.
  await endClient(await login(url, 'reader', 'warm-up'));
  let next = 0;
  const start = performance.now();
  const worker = async () => {
    while (next < CONNECTS) {
      const id = next++;
      await endClient(await login(url, 'reader', `conn-${id}`, { clean: true }));
    }
  };
  await Promise.all(Array.from({ length: CONNECT_CONCURRENCY }, worker));
  return { rate: CONNECTS / ((performance.now() - start) / 1000), ops: CONNECTS };
}

const scenarios = [
  ['publish QoS 0 (msg/s)', (url) => publishRate(url, 0), 0.9],
  ['publish QoS 1 (msg/s)', (url) => publishRate(url, 1), 0.9],
  ['connects (conn/s)', connectRate, 0.8],
];

console.log(
  `Aedes, ${SUBSCRIBERS} subscribers, ${MESSAGES} messages, ${CONNECTS} connects, best of ${ROUNDS} rounds (node ${process.version})`,
);
const rows = [];
for (const [name, run, target] of scenarios) {
  const best = { plain: { rate: 0, cpu: Infinity }, guarded: { rate: 0, cpu: Infinity } };
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate so that warm-up and machine noise hit both brokers alike.
    for (const kind of round % 2 === 0 ? ['plain', 'guarded'] : ['guarded', 'plain']) {
      const broker = await startBroker(kind);
      try {
        const before = await broker.cpu();
        const { rate, ops } = await run(broker.url);
        const cpuPerOp = ((await broker.cpu()) - before) / ops;
        best[kind] = { rate: Math.max(best[kind].rate, rate), cpu: Math.min(best[kind].cpu, cpuPerOp) };
      } finally {
        broker.stop();
      }
    }
  }
  // cpu ratio: the broker's CPU cost plain / guarded, i.e. the throughput ratio when its CPU is the limit.
  rows.push({
    scenario: name,
    'plain /s': Math.round(best.plain.rate),
    'guarded /s': Math.round(best.guarded.rate),
    'rate ratio': (best.guarded.rate / best.plain.rate).toFixed(2),
    'plain µs/op': best.plain.cpu.toFixed(1),
    'guarded µs/op': best.guarded.cpu.toFixed(1),
    'cpu ratio': (best.plain.cpu / best.guarded.cpu).toFixed(2),
    target: `≥ ${target}`,
  });
}
console.table(rows);

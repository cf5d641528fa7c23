// One timed load of a server child: wall-clock req/s and latency seen by autocannon, and the child's own CPU
// time per answered request (the load generator shares the cores, so req/s alone can flatter or punish).
import autocannon from 'autocannon';
import { probe } from './children.js';

/**
 * @param {{ url: string, proc: import('node:child_process').ChildProcess }} server
 * @param {{ path: string, type: string, allowBody?: string, allowed: (body: string) => boolean,
 *   encode: (check: object) => string, shed?: (status: number, body: string) => boolean }} route allowBody:
 *   the exact allow answer, else `allowed` decides; shed: an overloaded server's answer, counted apart
 * @param {() => object} next the check of the next request
 * @param {{ connections: number, seconds?: number, amount?: number, rate?: number }} options amount: a number
 *   of requests instead of seconds; rate: autocannon overallRate
 */
export async function measure(server, route, next, { connections, seconds, amount, rate }) {
  const latencies = [];
  let wrong = 0;
  let shed = 0;
  let example;
  const before = await probe(server);
  const run = autocannon({
    url: server.url,
    connections,
    ...(amount ? { amount } : { duration: seconds }),
    ...(rate && { overallRate: rate }),
    method: 'POST',
    headers: { 'content-type': route.type },
    requests: [
      {
        setupRequest: (req) => ({ ...req, path: route.path, body: route.encode(next()) }),
        // Every answer must be the allow: a server answering errors or denies fast counts as failed.
        onResponse: (status, body) => {
          const allowed = route.allowBody === undefined ? route.allowed(body) : body === route.allowBody;
          if (status === 200 && allowed) return;
          if (route.shed?.(status, body)) return void shed++;
          wrong++;
          example ??= `${status} ${body.slice(0, 80)}`;
        },
      },
    ],
  });
  // autocannon's own histogram keeps whole milliseconds; these are the exact send-to-answer times.
  run.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
  const result = await run;
  const after = await probe(server);
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return {
    rps: latencies.length / result.duration,
    cpuUsPerRequest: (after.cpuUs - before.cpuUs) / latencies.length,
    p50: at(0.5),
    p99: at(0.99),
    rssMB: after.rss / 1e6,
    bad: result.errors + result.timeouts + shed + wrong,
    wrong,
    shed,
    failures: `${result.errors} errors (${result.timeouts} timeouts), ${shed} shed, ${wrong} not allowed${example ? ` (first: ${example})` : ''}`,
  };
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** "median (min–max)" with `digits` decimals. */
export function spread(values, digits = 0) {
  const f = (v) =>
    v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  return `${f(median(values))} (${f(Math.min(...values))}–${f(Math.max(...values))})`;
}

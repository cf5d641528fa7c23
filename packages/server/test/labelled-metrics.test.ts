import type { Guard } from '@mqtt-warden/core';
import fc from 'fast-check';
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LabelledCounter, LabelledHistogram } from '../src/labelled-metrics.js';
import { createServerMetrics, LATENCY_BUCKETS } from '../src/server-metrics.js';

// The server's own counter and histogram print exactly what prom-client's Counter and Histogram print
// for the same observations in the same order: names, help, labels and their order, series order,
// buckets, _sum and _count, escaping. Label values include the ones text formats and objects trip on.

const labelValue = fc.oneof(
  fc.constantFrom(
    'emqx',
    'go-auth',
    'allow',
    '__proto__',
    'constructor',
    'a"b',
    'a\\b',
    'a\nb',
    '',
    '0',
    '1e3',
  ),
  fc.string({ maxLength: 4 }),
);
const seconds = fc.oneof(
  fc.constantFrom(0, -1, 0.0001, 0.00025, 1, 1.0000001, 2, Number.MAX_VALUE, Number.MIN_VALUE, -0),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
type Op =
  | { kind: 'inc'; labels: [string, string, string] }
  | { kind: 'observe'; labels: [string, string]; value: number }
  | { kind: 'reset' };
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('inc' as const),
      labels: fc.tuple(labelValue, labelValue, labelValue),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('observe' as const),
      labels: fc.tuple(labelValue, labelValue),
      value: seconds,
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'reset' as const }) },
);

/** prom-client's metrics as the server declared them before it had its own. */
function promClient(registry: Registry) {
  const counter = new Counter({
    name: 'mqtt_warden_decisions_total',
    help: 'Answers given to brokers, by adapter, action and result.',
    labelNames: ['adapter', 'action', 'result'] as const,
    registers: [registry],
  });
  const histogram = new Histogram({
    name: 'mqtt_warden_request_duration_seconds',
    help: 'Time to answer a broker request.',
    labelNames: ['adapter', 'route'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
    registers: [registry],
  });
  return {
    inc: ([adapter, action, result]: string[]) => counter.inc({ adapter, action, result }),
    observe: ([adapter, route]: string[], value: number) => histogram.observe({ adapter, route }, value),
  };
}

const GUARD = { stats: () => ({ cacheHits: 0, cacheMisses: 0, cacheSize: 0 }) } as unknown as Guard;
const NAMES = ['mqtt_warden_decisions_total', 'mqtt_warden_request_duration_seconds'];
const text = async (registry: Registry) =>
  (await Promise.all(NAMES.map((name) => registry.getSingleMetricAsString(name)))).join('\n\n');

describe('LabelledCounter and LabelledHistogram', () => {
  it('print what prom-client prints for the same observations', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        const expected = new Registry();
        const theirs = promClient(expected);
        const actual = new Registry();
        const counter = new LabelledCounter(
          'mqtt_warden_decisions_total',
          'Answers given to brokers, by adapter, action and result.',
          ['adapter', 'action', 'result'],
          actual,
        );
        const histogram = new LabelledHistogram(
          'mqtt_warden_request_duration_seconds',
          'Time to answer a broker request.',
          ['adapter', 'route'],
          LATENCY_BUCKETS,
          actual,
        );
        for (const o of ops) {
          if (o.kind === 'inc') {
            theirs.inc(o.labels);
            counter.inc(counter.slot(o.labels));
          } else if (o.kind === 'observe') {
            theirs.observe(o.labels, o.value);
            histogram.observe(histogram.slot(o.labels), o.value);
          } else {
            expected.resetMetrics();
            actual.resetMetrics();
          }
        }
        expect(await actual.metrics()).toBe(await expected.metrics());
        // The server serves a merged registry.
        expect(await Registry.merge([actual]).metrics()).toBe(await expected.metrics());
      }),
      { numRuns: 300 },
    );
  });

  it('refuse a value that is not a finite number, as prom-client does', () => {
    const histogram = new LabelledHistogram('h', 'h', ['a'], [1], new Registry());
    const slot = histogram.slot(['x']);
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(() => histogram.observe(slot, value)).toThrow(TypeError);
    }
    expect(() => histogram.slot(['x', 'y'])).toThrow();
  });
});

describe('createServerMetrics', () => {
  it('serves decisions and latency as prom-client did, through each of its calls', async () => {
    const adapter = fc.constantFrom('emqx', 'go-auth', 'rabbitmq', 'device-token');
    const call = fc.oneof(
      fc.record({
        kind: fc.constantFrom('decision', 'decisionsOf'),
        adapter,
        action: labelValue,
        result: labelValue,
      }),
      fc.record({
        kind: fc.constantFrom('latency', 'latencyOf'),
        adapter,
        route: labelValue,
        value: seconds,
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(call, { maxLength: 40 }), async (calls) => {
        const expected = new Registry();
        const theirs = promClient(expected);
        const metrics = createServerMetrics(GUARD);
        for (const c of calls) {
          if ('action' in c) {
            theirs.inc([c.adapter, c.action, c.result]);
            if (c.kind === 'decision') metrics.decision(c.adapter, c.action, c.result);
            else metrics.decisionsOf(c.adapter)({ action: c.action, result: c.result });
          } else {
            theirs.observe([c.adapter, c.route], c.value);
            if (c.kind === 'latency') metrics.latency(c.adapter, c.route, c.value);
            else metrics.latencyOf(c.adapter, c.route)(c.value);
          }
        }
        expect(await text(metrics.registry)).toBe(await text(expected));
      }),
      { numRuns: 200 },
    );
  });

  it('keeps counting through one bound observer', async () => {
    const expected = new Registry();
    const theirs = promClient(expected);
    const metrics = createServerMetrics(GUARD);
    const decide = metrics.decisionsOf('go-auth');
    const observe = metrics.latencyOf('go-auth', '/mosquitto/acl');
    for (let i = 0; i < 50; i++) {
      const result = i % 3 === 0 ? 'deny' : 'grant';
      theirs.inc(['go-auth', 'publish', result]);
      decide({ action: 'publish', result });
      theirs.observe(['go-auth', '/mosquitto/acl'], i / 997);
      observe(i / 997);
    }
    expect(await text(metrics.registry)).toBe(await text(expected));
  });
});

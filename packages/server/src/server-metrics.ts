import type { Guard } from '@mqtt-warden/core';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The Prometheus metrics `/metrics` serves. */
export interface ServerMetrics {
  readonly registry: Registry;
  decision(adapter: string, action: string, result: string): void;
  latency(adapter: string, route: string, seconds: number): void;
}

/**
 * Decisions by adapter, action and result; request latency per route; the guard's decision-cache
 * hit ratio; process metrics.
 */
export function createServerMetrics(guard: Guard): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const decisions = new Counter({
    name: 'mqtt_warden_decisions_total',
    help: 'Answers given to brokers, by adapter, action and result.',
    labelNames: ['adapter', 'action', 'result'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'mqtt_warden_request_duration_seconds',
    help: 'Time to answer a broker request.',
    labelNames: ['adapter', 'route'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
    registers: [registry],
  });
  new Gauge({
    name: 'mqtt_warden_decision_cache_hit_ratio',
    help: 'Share of authorization decisions answered from the cache since start.',
    registers: [registry],
    collect() {
      const { cacheHits, cacheMisses } = guard.stats();
      this.set(cacheHits + cacheMisses === 0 ? 0 : cacheHits / (cacheHits + cacheMisses));
    },
  });
  new Gauge({
    name: 'mqtt_warden_decision_cache_entries',
    help: 'Entries in the authorization decision cache.',
    registers: [registry],
    collect() {
      this.set(guard.stats().cacheSize);
    },
  });
  return {
    registry,
    decision: (adapter, action, result) => decisions.inc({ adapter, action, result }),
    latency: (adapter, route, seconds) => duration.observe({ adapter, route }, seconds),
  };
}

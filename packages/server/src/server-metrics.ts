import type { Guard } from '@mqtt-warden/core';
import type { DefenseEvent, Defenses } from '@mqtt-warden/defenses';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { LabelledCounter, LabelledHistogram } from './labelled-metrics.js';

/** The Prometheus metrics `/metrics` serves. */
export interface ServerMetrics {
  readonly registry: Registry;
  decision(adapter: string, action: string, result: string): void;
  /** `decision` for one adapter, for its hot path: each action and result is looked up once. */
  decisionsOf(adapter: string): (event: { action: string; result: string }) => void;
  latency(adapter: string, route: string, seconds: number): void;
  /** `latency` for one route, its label set bound once. */
  latencyOf(adapter: string, route: string): (seconds: number) => void;
  /** Counts what a defense did (lock placed, attempt or request refused, reply held). */
  defense(event: DefenseEvent): void;
}

/**
 * Decisions by adapter, action and result; request latency per route; the guard's decision-cache
 * hit ratio; what the defenses did (refusals, locks placed and active, verifications); process metrics.
 */
export function createServerMetrics(guard: Guard, defenses?: Defenses): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Counted per request: label sets are bound once, not hashed per call (prom-client's Counter and
  // Histogram print the same text; labelled-metrics.test.ts compares them).
  const decisions = new LabelledCounter(
    'mqtt_warden_decisions_total',
    'Answers given to brokers, by adapter, action and result.',
    ['adapter', 'action', 'result'],
    registry,
  );
  const duration = new LabelledHistogram(
    'mqtt_warden_request_duration_seconds',
    'Time to answer a broker request.',
    ['adapter', 'route'],
    LATENCY_BUCKETS,
    registry,
  );
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
  const refusals = new Counter({
    name: 'mqtt_warden_defense_refusals_total',
    help: 'Connect attempts and authorization requests refused by a defense, by defense and key kind.',
    labelNames: ['defense', 'key'] as const,
    registers: [registry],
  });
  const locks = new Counter({
    name: 'mqtt_warden_lockouts_total',
    help: 'Locks placed after repeated failures, by key kind.',
    labelNames: ['key'] as const,
    registers: [registry],
  });
  const held = new Counter({
    name: 'mqtt_warden_authorization_held_total',
    help: 'Refused authorization replies held (slowed) because their key is being drained by refusals, by the most drained key kind.',
    labelNames: ['key'] as const,
    registers: [registry],
  });
  if (defenses) registerDefenseGauges(registry, defenses);
  return {
    registry,
    defense(event) {
      if (event.refused) refusals.inc({ defense: event.kind, key: event.key });
      else if (event.kind === 'rate-limited') held.inc({ key: event.key });
      else locks.inc({ key: event.key });
    },
    decision: (adapter, action, result) => decisions.inc(decisions.slot([adapter, action, result])),
    decisionsOf(adapter) {
      // Actions and results are the adapter's own few words, so this stays small.
      const slots = new Map<string, Map<string, number>>();
      return ({ action, result }) => {
        let byResult = slots.get(action);
        if (byResult === undefined) {
          byResult = new Map();
          slots.set(action, byResult);
        }
        let slot = byResult.get(result);
        if (slot === undefined) {
          slot = decisions.slot([adapter, action, result]);
          byResult.set(result, slot);
        }
        decisions.inc(slot);
      };
    },
    latency: (adapter, route, seconds) => duration.observe(duration.slot([adapter, route]), seconds),
    latencyOf(adapter, route) {
      const slot = duration.slot([adapter, route]);
      return (seconds) => duration.observe(slot, seconds);
    },
  };
}

/** Buckets of `mqtt_warden_request_duration_seconds` (seconds). */
export const LATENCY_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1,
];

/** With Redis: how the sharing of request limits and verification budget is doing. */
function registerSharingGauges(registry: Registry, defenses: Defenses): void {
  let seen = 0;
  new Counter({
    name: 'mqtt_warden_defense_sync_errors_total',
    help: 'Flushes of request limits, budget leases and heartbeats the defenses store (Redis) did not answer.',
    registers: [registry],
    collect() {
      const now = defenses.stats().shared?.errors ?? seen;
      this.inc(now - seen);
      seen = now;
    },
  });
  new Gauge({
    name: 'mqtt_warden_defense_sync_degraded',
    help: '1 while the store is unreachable: request limits and verification budget are this process’s own (bounded).',
    registers: [registry],
    collect() {
      this.set(defenses.stats().shared?.degraded ? 1 : 0);
    },
  });
  new Gauge({
    name: 'mqtt_warden_defense_replicas',
    help: 'Replicas last seen sharing the defenses store (this one included).',
    registers: [registry],
    collect() {
      this.set(defenses.stats().shared?.replicas ?? 1);
    },
  });
}

/** Metrics read from the defenses when scraped: verifications, store errors, keys locked now. */
function registerDefenseGauges(registry: Registry, defenses: Defenses): void {
  const seen = { verifications: 0, storeErrors: 0 };
  new Counter({
    name: 'mqtt_warden_authentication_verifications_total',
    help: 'Connect attempts handed to the authenticators (those that may cost a hash verification).',
    registers: [registry],
    collect() {
      const now = defenses.stats().verifications;
      this.inc(now - seen.verifications);
      seen.verifications = now;
    },
  });
  new Counter({
    name: 'mqtt_warden_defense_store_errors_total',
    help: 'Connect attempts the defenses store (Redis) could not answer for.',
    registers: [registry],
    collect() {
      const now = defenses.stats().storeErrors;
      this.inc(now - seen.storeErrors);
      seen.storeErrors = now;
    },
  });
  if (defenses.stats().shared) registerSharingGauges(registry, defenses);
  const lockout = defenses.lockout;
  if (!lockout) return;
  new Gauge({
    name: 'mqtt_warden_lockouts_active',
    help: 'Keys locked now (counted up to 10,000; in the shared store when Redis is configured).',
    registers: [registry],
    async collect() {
      // A store that cannot answer leaves the last value rather than failing the scrape.
      const entries = await lockout.list(10_000).catch(() => undefined);
      if (entries) this.set(entries.length);
    },
  });
}

import type { AuditEvent } from '@mqtt-warden/core';
import { Counter, type Registry } from 'prom-client';
import { AlertEngine } from './alert-engine.js';
import { type AlertRules, DEFAULT_ALERT_RULES } from './alert-rules.js';
import { type AuditInput, type AuditRecord, auditRecordOf } from './audit-record.js';
import type { AuditSink, QueuedRecord } from './audit-sink.js';
import { SinkQueue } from './sink-queue.js';

export interface AuditTrailOptions {
  readonly sinks: readonly AuditSink[];
  /** Share of authorization allows recorded (all are counted); default 0.01. */
  readonly sampleAllows?: number;
  /** Alert rules; default {@link DEFAULT_ALERT_RULES}; `false` turns alerts off. */
  readonly alerts?: AlertRules | false;
  /** Bytes each sink's queue holds before dropping (default 8 MiB). */
  readonly queueBytes?: number;
  /** Registers `mqtt_warden_audit_events_total`, `…_dropped_total` and `mqtt_warden_alerts_total` here. */
  readonly registry?: Registry;
  /** Told when a sink's batch failed (it is retried); log the error's code, not its message. */
  readonly onSinkError?: (sink: string, error: unknown) => void;
  /** Tests inject these. */
  readonly random?: () => number;
  readonly retryMs?: number;
}

export interface AuditTrail {
  /**
   * The guard's hooks: `createGuard({ ...trail.guardHooks, authenticators, authorizer })`. With them
   * the guard builds an event for the sampled authorization allows only.
   */
  readonly guardHooks: { readonly audit: (event: AuditEvent) => void; readonly auditAllow: () => boolean };
  /**
   * Takes a guard event, a defense event or an unknown session; counts authorization allows and
   * records the sampled ones. Never
   * blocks and never throws: records go to bounded queues, one per sink.
   */
  readonly record: (event: AuditInput) => void;
  /** The sinks' queues, in config order. */
  readonly queues: readonly SinkQueue[];
  /** Resolves once every queue is empty, or after `timeoutMs`. */
  flush(timeoutMs?: number): Promise<void>;
  /** Flushes (within `timeoutMs`) and closes every sink. */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * The audit trail: every authentication and every refusal becomes a record, authorization allows are
 * counted and sampled, the alert rules watch the stream, and every sink gets each record through its own
 * bounded queue, so a slow or dead sink never delays a decision.
 *
 * @example
 * ```ts
 * const trail = createAuditTrail({ sinks: [new FileSink({ path: 'audit.jsonl' })], registry });
 * const guard = createGuard({ ...trail.guardHooks, authenticators, authorizer });
 * ```
 */
export function createAuditTrail(options: AuditTrailOptions): AuditTrail {
  const rate = options.sampleAllows ?? 0.01;
  const random = options.random ?? Math.random;
  const registers = options.registry ? [options.registry] : [];
  // Counted in plain numbers and reported at scrape time: a labelled inc costs more than a cached decision.
  const counts = new Map<string, number>();
  const reported = new Map<string, number>();
  let allowCount = 0;
  const count = (kind: string, decision: string) => {
    const key = `${kind} ${decision}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  };
  new Counter({
    name: 'mqtt_warden_audit_events_total',
    help: 'Audit events by kind and decision (authorization allows counted, recorded only when sampled).',
    labelNames: ['kind', 'decision'] as const,
    registers,
    collect() {
      counts.set('authorize allow', allowCount);
      for (const [key, total] of counts) {
        const delta = total - (reported.get(key) ?? 0);
        if (delta <= 0) continue;
        const [kind, decision] = key.split(' ') as [string, string];
        this.inc({ kind, decision }, delta);
        reported.set(key, total);
      }
    },
  });
  const labelled: [string, SinkQueue][] = [];
  const droppedReported = new Map<string, number>();
  new Counter({
    name: 'mqtt_warden_audit_dropped_total',
    help: 'Audit records dropped because a sink was too slow and its queue was full.',
    labelNames: ['sink'] as const,
    registers,
    collect() {
      // From the queues' own counts: a flood of drops costs one increment each, not a labelled inc.
      for (const [sink, queue] of labelled) {
        this.inc({ sink }, queue.dropped - (droppedReported.get(sink) ?? 0));
        droppedReported.set(sink, queue.dropped);
      }
    },
  });
  const alerts = new Counter({
    name: 'mqtt_warden_alerts_total',
    help: 'Alerts raised, by rule.',
    labelNames: ['rule'] as const,
    registers,
  });
  const names = new Map<string, number>();
  const queues = options.sinks.map((sink) => {
    // Two sinks of one kind get `webhook` and `webhook#2`.
    const seen = (names.get(sink.name) ?? 0) + 1;
    names.set(sink.name, seen);
    const label = seen === 1 ? sink.name : `${sink.name}#${seen}`;
    const queue = new SinkQueue(sink, {
      maxBytes: options.queueBytes,
      retryMs: options.retryMs,
      onError: (error) => options.onSinkError?.(label, error),
    });
    labelled.push([label, queue]);
    return queue;
  });
  const rules = options.alerts === false ? undefined : (options.alerts ?? DEFAULT_ALERT_RULES);
  const engine =
    rules &&
    new AlertEngine(rules, (alert, cause) => {
      alerts.inc({ rule: alert.rule });
      write({
        time: cause.time,
        kind: 'alert',
        // The alert is about its source: the address or the device, not whoever tipped a fleet-wide count.
        ...(alert.source === cause.address ? { address: cause.address } : {}),
        ...(alert.source === cause.principal ? { principal: cause.principal } : {}),
        alert,
      });
    });

  function write(record: AuditRecord): void {
    let item: QueuedRecord | undefined;
    for (const queue of queues) {
      // A record the sink would not write is not serialized or queued (the default log sink takes no allows).
      if (queue.sink.accepts?.(record) === false) continue;
      if (item === undefined) {
        const line = JSON.stringify(record);
        item = { record, line, bytes: Buffer.byteLength(line) };
      }
      queue.push(item);
    }
  }

  /** True when some sink may write an authorization allow. */
  function takesAllows(): boolean {
    for (const queue of queues) if (queue.sink.acceptsAllows?.() !== false) return true;
    return false;
  }

  /**
   * Counts an authorization allow; true for the sampled ones that some sink may write: for the others
   * (the default log sink takes no allows) neither an event nor a record is built.
   */
  const auditAllow = (): boolean => {
    allowCount++;
    return rate > 0 && random() < rate && takesAllows();
  };

  function recordDecided(event: AuditInput): void {
    const built = auditRecordOf(event);
    count(built.kind, built.decision ?? 'none');
    write(built);
    engine?.observe(built, event.time ?? Date.now());
  }

  const record = (event: AuditInput): void => {
    if (event.type !== 'authorize' || !event.allowed) recordDecided(event);
    else if (auditAllow()) write(auditRecordOf(event, rate));
  };

  const guardHooks = {
    // The guard asked auditAllow before building an allow's event: it is one of the sampled ones.
    audit: (event: AuditEvent): void =>
      event.type === 'authorize' && event.allowed ? write(auditRecordOf(event, rate)) : recordDecided(event),
    auditAllow,
  };

  return {
    guardHooks,
    record,
    queues,
    async flush(timeoutMs) {
      await Promise.all(queues.map((queue) => queue.drain(timeoutMs)));
    },
    async close(timeoutMs) {
      await Promise.all(queues.map((queue) => queue.close(timeoutMs)));
    },
  };
}

import type { AuditRecord } from './audit-record.js';

/** A record with its JSON line, serialized once for every sink. */
export interface QueuedRecord {
  readonly record: AuditRecord;
  /** `JSON.stringify(record)`, without a newline. */
  readonly line: string;
  /** Bytes the queue counts for it (the line's UTF-8 length). */
  readonly bytes: number;
}

/**
 * Where audit records go. `send` delivers one batch or throws (the queue retries the same batch with
 * back-off); it is never called again before the previous call settled.
 *
 * @example
 * ```ts
 * const sink: AuditSink = { name: 'console', async send(batch) { for (const r of batch) console.log(r.line); }, async close() {} };
 * ```
 */
export interface AuditSink {
  /** The `sink` label of its metrics: `file`, `syslog`, `webhook`… */
  readonly name: string;
  /** Most records per `send` (default 100). */
  readonly batchSize?: number;
  /**
   * False for a record `send` would not write (the log sink's allows, or lines below the log level): the
   * trail then neither serializes nor queues it for this sink. Absent: every record.
   */
  accepts?(record: AuditRecord): boolean;
  /**
   * False when `accepts` is false for every authorization allow (the log sink without `allows`): with no
   * sink that may take one, the trail builds no record for a sampled allow. Absent: it may.
   */
  acceptsAllows?(): boolean;
  send(batch: readonly QueuedRecord[]): Promise<void>;
  close(): Promise<void>;
}

import type { AuditRecord } from './audit-record.js';
import type { AuditSink, QueuedRecord } from './audit-sink.js';

/** The subset of a pino-style logger the log sink uses. */
export interface AuditLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  /** pino's level check: records logged at a disabled level are not queued at all. */
  isLevelEnabled?(level: string): boolean;
}

/**
 * Records into the server's own log: denials (and allows when `allows` is set) at info, alerts at
 * warn, under the key `audit`. The default trail of a server without an `audit:` block.
 *
 * @example
 * ```ts
 * const sink = new LogSink(app.log);
 * ```
 */
export class LogSink implements AuditSink {
  readonly name = 'log';
  readonly #logger: AuditLogger;
  readonly #allows: boolean;

  constructor(logger: AuditLogger, options: { allows?: boolean } = {}) {
    this.#logger = logger;
    this.#allows = options.allows ?? false;
  }

  accepts(record: AuditRecord): boolean {
    if (record.kind === 'alert') return this.#logger.isLevelEnabled?.('warn') ?? true;
    return (record.decision !== 'allow' || this.#allows) && (this.#logger.isLevelEnabled?.('info') ?? true);
  }

  acceptsAllows(): boolean {
    return this.#allows && (this.#logger.isLevelEnabled?.('info') ?? true);
  }

  async send(batch: readonly QueuedRecord[]): Promise<void> {
    for (const { record } of batch) {
      if (record.kind === 'alert') this.#logger.warn({ audit: record }, `alert: ${record.alert?.what}`);
      else if (record.decision !== 'allow' || this.#allows) this.#logger.info({ audit: record }, 'audit');
    }
  }

  async close(): Promise<void> {}
}

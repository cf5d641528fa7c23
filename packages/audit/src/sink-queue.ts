import type { AuditSink, QueuedRecord } from './audit-sink.js';

export interface SinkQueueOptions {
  /** Bytes of records waiting before new ones are dropped (default 8 MiB). */
  readonly maxBytes?: number;
  /** First retry delay after a failed batch (default 250 ms), doubled up to `maxRetryMs` (default 30 s). */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
  /** Called when a batch failed (it is retried). Gets the error, which may hold sink details: log its code only. */
  readonly onError?: (error: unknown) => void;
}

/**
 * A bounded queue in front of one sink. `push` is synchronous and never waits for the sink: delivery
 * starts on a later turn of the event loop, a failed batch is retried with exponential back-off, and
 * while the sink is slow or down, records that do not fit in `maxBytes` are dropped and counted.
 *
 * @example
 * ```ts
 * const queue = new SinkQueue(new StdoutSink(), { maxBytes: 1 << 20 });
 * queue.push({ record, line: JSON.stringify(record), bytes: 120 });
 * await queue.close();
 * ```
 */
export class SinkQueue {
  readonly sink: AuditSink;
  readonly #maxBytes: number;
  readonly #retryMs: number;
  readonly #maxRetryMs: number;
  readonly #options: SinkQueueOptions;
  #items: QueuedRecord[] = [];
  #bytes = 0;
  #dropped = 0;
  #running = false;
  #closed = false;
  #wake: (() => void) | undefined;
  #idle: (() => void)[] = [];

  constructor(sink: AuditSink, options: SinkQueueOptions = {}) {
    this.sink = sink;
    this.#options = options;
    this.#maxBytes = options.maxBytes ?? 8 * 2 ** 20;
    this.#retryMs = options.retryMs ?? 250;
    this.#maxRetryMs = options.maxRetryMs ?? 30_000;
  }

  /** Bytes waiting. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Records dropped since start. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Queues a record, or drops it (counted) when it does not fit. Never blocks. */
  push(item: QueuedRecord): void {
    if (this.#closed || this.#bytes + item.bytes > this.#maxBytes) {
      this.#dropped++;
      return;
    }
    this.#items.push(item);
    this.#bytes += item.bytes;
    if (!this.#running) {
      this.#running = true;
      // Never on the caller's stack: the sink's work happens after the decision was answered.
      setImmediate(() => void this.#pump());
    }
  }

  /** Resolves once every queued record was delivered, or after `timeoutMs`. */
  async drain(timeoutMs = 5_000): Promise<void> {
    if (!this.#running) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.#idle.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Stops taking records, delivers what it can within `timeoutMs`, then closes the sink. */
  async close(timeoutMs = 5_000): Promise<void> {
    await this.drain(timeoutMs);
    this.#closed = true;
    this.#wake?.();
    await this.sink.close();
  }

  async #pump(): Promise<void> {
    let delay = this.#retryMs;
    const size = this.sink.batchSize ?? 100;
    while (this.#items.length > 0 && !this.#closed) {
      const batch = this.#items.slice(0, size);
      try {
        await this.sink.send(batch);
      } catch (error) {
        this.#options.onError?.(error);
        await this.#sleep(delay);
        delay = Math.min(delay * 2, this.#maxRetryMs);
        continue;
      }
      delay = this.#retryMs;
      this.#items.splice(0, batch.length);
      for (const item of batch) this.#bytes -= item.bytes;
    }
    this.#running = false;
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      // A dead sink keeps nobody alive.
      timer.unref();
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

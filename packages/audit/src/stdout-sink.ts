import type { AuditSink, QueuedRecord } from './audit-sink.js';

/**
 * JSON lines on standard output (or another stream), for platforms that collect a process's output.
 *
 * @example
 * ```ts
 * const sink = new StdoutSink();
 * ```
 */
export class StdoutSink implements AuditSink {
  readonly name = 'stdout';
  readonly batchSize = 500;
  readonly #stream: NodeJS.WritableStream;

  constructor(stream: NodeJS.WritableStream = process.stdout) {
    this.#stream = stream;
  }

  send(batch: readonly QueuedRecord[]): Promise<void> {
    const data = batch.map((item) => `${item.line}\n`).join('');
    return new Promise((resolve, reject) => {
      this.#stream.write(data, (error) => (error ? reject(error) : resolve()));
    });
  }

  async close(): Promise<void> {}
}

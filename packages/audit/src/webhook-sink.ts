import type { AuditSink, QueuedRecord } from './audit-sink.js';

export interface WebhookSinkOptions {
  readonly url: string;
  /** Records per POST (default 100). */
  readonly batchSize?: number;
  /** Extra headers, e.g. `{ authorization: 'Bearer …' }` for the SIEM's collector. */
  readonly headers?: Readonly<Record<string, string>>;
  /** A POST not answered in time fails and is retried (default 10 s). */
  readonly timeoutMs?: number;
}

/**
 * POSTs batches of records as a JSON array to an HTTP collector (a SIEM's HTTP input). Any answer but
 * 2xx, a network error or a timeout fails the batch, which the queue retries with back-off.
 *
 * @example
 * ```ts
 * const sink = new WebhookSink({ url: 'https://siem.example/ingest', headers: { authorization: `Bearer ${token}` } });
 * ```
 */
export class WebhookSink implements AuditSink {
  readonly name = 'webhook';
  readonly batchSize: number;
  readonly #options: WebhookSinkOptions;

  constructor(options: WebhookSinkOptions) {
    this.#options = options;
    this.batchSize = options.batchSize ?? 100;
  }

  async send(batch: readonly QueuedRecord[]): Promise<void> {
    const response = await fetch(this.#options.url, {
      method: 'POST',
      headers: { ...this.#options.headers, 'content-type': 'application/json' },
      body: `[${batch.map((item) => item.line).join(',')}]`,
      signal: AbortSignal.timeout(this.#options.timeoutMs ?? 10_000),
    });
    // Read the body so the connection can be reused.
    await response.arrayBuffer().catch(() => undefined);
    if (!response.ok) throw new WebhookStatusError(response.status);
  }

  async close(): Promise<void> {}
}

/** The collector answered something other than 2xx. */
class WebhookStatusError extends Error {
  readonly code = 'ERR_AUDIT_WEBHOOK_STATUS';
  constructor(readonly status: number) {
    super(`the audit webhook answered HTTP ${status}`);
  }
}

export interface RetryQueueOptions {
  /** Jobs waiting at most; past it the oldest waiting job is dropped (and counted). Default 10,000. */
  readonly maxPending?: number;
  /** Attempts per job before it is given up (and counted). Default 8. */
  readonly maxAttempts?: number;
  /** First back-off delay in ms, doubled after each failure (with jitter). Default 250. */
  readonly baseDelayMs?: number;
  /** Longest back-off delay in ms. Default 30,000. */
  readonly maxDelayMs?: number;
  /** Jobs running at once. Default 4. */
  readonly concurrency?: number;
  /** Called after each failed attempt. */
  readonly onFailure?: (key: string, error: unknown, attempt: number, willRetry: boolean) => void;
}

/** Counters of a {@link RetryQueue} since it was created. */
export interface RetryQueueStats {
  readonly succeeded: number;
  /** Failed attempts, retried or not. */
  readonly failed: number;
  /** Jobs dropped after `maxAttempts` failures. */
  readonly gaveUp: number;
  /** Jobs dropped because `maxPending` were waiting. */
  readonly dropped: number;
  /** Jobs waiting or running now. */
  readonly pending: number;
}

interface Job {
  readonly key: string;
  readonly run: () => Promise<void>;
  attempt: number;
}

/**
 * Runs keyed jobs in the background with bounded concurrency, retrying a failing job with exponential
 * back-off. A job pushed while one with the same key waits is merged into it. Bounded: at most
 * `maxPending` jobs wait. Nothing waits for it: `push` returns at once.
 */
export class RetryQueue {
  readonly #options: Required<Omit<RetryQueueOptions, 'onFailure'>> & Pick<RetryQueueOptions, 'onFailure'>;
  /** Waiting jobs by key, in push order. */
  readonly #waiting = new Map<string, Job>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #idle = new Set<() => void>();
  #running = 0;
  #delayed = 0;
  #closed = false;
  #stats = { succeeded: 0, failed: 0, gaveUp: 0, dropped: 0 };

  constructor(options: RetryQueueOptions = {}) {
    this.#options = {
      maxPending: options.maxPending ?? 10_000,
      maxAttempts: options.maxAttempts ?? 8,
      baseDelayMs: options.baseDelayMs ?? 250,
      maxDelayMs: options.maxDelayMs ?? 30_000,
      concurrency: options.concurrency ?? 4,
      onFailure: options.onFailure,
    };
  }

  get stats(): RetryQueueStats {
    return { ...this.#stats, pending: this.#waiting.size + this.#running + this.#delayed };
  }

  push(key: string, run: () => Promise<void>): void {
    if (this.#closed || this.#waiting.has(key)) return;
    if (this.#waiting.size >= this.#options.maxPending) {
      const oldest = this.#waiting.keys().next().value as string;
      this.#waiting.delete(oldest);
      this.#stats.dropped++;
    }
    this.#waiting.set(key, { key, run, attempt: 0 });
    this.#pump();
  }

  /** Resolves when no job waits, runs or waits for a retry. */
  idle(): Promise<void> {
    if (this.stats.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.add(resolve));
  }

  /** Drops waiting jobs and retries; running ones finish. */
  close(): void {
    this.#closed = true;
    this.#waiting.clear();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#delayed = 0;
    this.#settle();
  }

  #pump(): void {
    while (this.#running < this.#options.concurrency && this.#waiting.size > 0) {
      const job = this.#waiting.values().next().value as Job;
      this.#waiting.delete(job.key);
      this.#running++;
      void this.#run(job);
    }
    this.#settle();
  }

  async #run(job: Job): Promise<void> {
    job.attempt++;
    try {
      await job.run();
      this.#stats.succeeded++;
    } catch (error) {
      this.#stats.failed++;
      const retry = !this.#closed && job.attempt < this.#options.maxAttempts;
      if (!retry) this.#stats.gaveUp++;
      this.#options.onFailure?.(job.key, error, job.attempt, retry);
      if (retry) this.#retryLater(job);
    } finally {
      this.#running--;
      this.#pump();
    }
  }

  #retryLater(job: Job): void {
    const { baseDelayMs, maxDelayMs } = this.#options;
    const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** (job.attempt - 1)) * (0.5 + Math.random() / 2);
    this.#delayed++;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#delayed--;
      // A newer job with the same key replaces the retry: it does the same, later.
      if (!this.#waiting.has(job.key)) this.#waiting.set(job.key, job);
      this.#pump();
    }, delay);
    timer.unref();
    this.#timers.add(timer);
  }

  #settle(): void {
    if (this.stats.pending > 0) return;
    for (const resolve of this.#idle) resolve();
    this.#idle.clear();
  }
}

import { UnavailableError } from '@mqtt-warden/core';

/** Bounds on concurrent password verifications; see {@link VerificationLimiter}. */
export interface VerificationLimits {
  /** Verifications running at once. Default 4, the size of Node's thread pool where hashes run. */
  readonly concurrency?: number;
  /** Verifications waiting, in all. Default 1,024. */
  readonly maxQueue?: number;
  /** Verifications waiting per source (remote address, else username). Default 16. */
  readonly maxQueuePerSource?: number;
  /**
   * Longest wait for a turn, after which the attempt is answered `unavailable`. Default 3,000 ms: below
   * the brokers' authentication timeouts (EMQX 5 s), so a refusal arrives while the broker still listens.
   */
  readonly maxWaitMs?: number;
}

interface Waiting {
  readonly source: string;
  readonly start: () => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * Runs password verifications (argon2id, bcrypt, PBKDF2: tens of milliseconds of CPU each) a few at a
 * time, taking turns between sources so that one flooding source delays itself, not everyone: a
 * legitimate login waits for at most one verification per other waiting source. An attempt that finds
 * the queue (or its source's share) full, or waits past `maxWaitMs`, is rejected with
 * {@link UnavailableError} (`ERR_UNAVAILABLE`), which the guard answers as `unavailable` and each adapter
 * as its broker's "try later".
 *
 * @example
 * ```ts
 * const limiter = new VerificationLimiter({ concurrency: 4, maxWaitMs: 3000 });
 * const ok = await limiter.run(request.transport.remoteAddress ?? username, () => verifyPassword(password, hash));
 * ```
 */
export class VerificationLimiter {
  readonly #concurrency: number;
  readonly #maxQueue: number;
  readonly #maxPerSource: number;
  readonly #maxWaitMs: number;
  #running = 0;
  #waiting = 0;
  /** Waiting attempts by source, in turn order: the first source goes next, then moves to the end. */
  readonly #queues = new Map<string, Waiting[]>();

  constructor(limits: VerificationLimits = {}) {
    this.#concurrency = limits.concurrency ?? 4;
    this.#maxQueue = limits.maxQueue ?? 1024;
    this.#maxPerSource = limits.maxQueuePerSource ?? 16;
    this.#maxWaitMs = limits.maxWaitMs ?? 3000;
  }

  /** Attempts running and waiting now. */
  get load(): { readonly running: number; readonly waiting: number } {
    return { running: this.#running, waiting: this.#waiting };
  }

  /** Runs `task` when a slot is free and it is `source`'s turn; rejects `ERR_UNAVAILABLE` when it cannot. */
  run<T>(source: string, task: () => Promise<T>): Promise<T> {
    if (this.#running < this.#concurrency && this.#waiting === 0) return this.#start(task);
    const queue = this.#queues.get(source) ?? [];
    if (this.#waiting >= this.#maxQueue || queue.length >= this.#maxPerSource) {
      return Promise.reject(new UnavailableError('too many password verifications waiting; try again later'));
    }
    return new Promise<T>((resolve, reject) => {
      const waiting: Waiting = {
        source,
        start: () => this.#start(task).then(resolve, reject),
        reject,
        timer: setTimeout(() => this.#expire(waiting), this.#maxWaitMs),
      };
      queue.push(waiting);
      if (queue.length === 1) this.#queues.set(source, queue);
      this.#waiting++;
    });
  }

  async #start<T>(task: () => Promise<T>): Promise<T> {
    this.#running++;
    try {
      return await task();
    } finally {
      this.#running--;
      this.#next();
    }
  }

  #next(): void {
    const first = this.#queues.entries().next();
    if (first.done) return;
    const [source, queue] = first.value;
    const waiting = queue.shift() as Waiting;
    // Take turns: a source with more waiting goes to the back of the line.
    this.#queues.delete(source);
    if (queue.length > 0) this.#queues.set(source, queue);
    this.#waiting--;
    clearTimeout(waiting.timer);
    waiting.start();
  }

  #expire(waiting: Waiting): void {
    const queue = this.#queues.get(waiting.source);
    const index = queue?.indexOf(waiting) ?? -1;
    if (queue === undefined || index < 0) return;
    queue.splice(index, 1);
    if (queue.length === 0) this.#queues.delete(waiting.source);
    this.#waiting--;
    waiting.reject(new UnavailableError('password verification waited too long; try again later'));
  }
}

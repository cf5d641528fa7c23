import type { Decision } from './types.js';

/** Longest hold honoured, whatever a guard put in a decision: a held reply must not outlast a broker's timeout. */
export const MAX_HOLD_MS = 10_000;

/**
 * The replies an adapter is holding because their decision carries `holdMs` (the defenses slow a client
 * that keeps asking for what it was refused). The defenses bound how many are held at once; this keeps
 * their timers, so that an adapter that closes sends them at once ({@link ReplyHolds.release}): the
 * reply is the same deny, only sooner.
 *
 * @example
 * ```ts
 * const holds = new ReplyHolds();
 * app.addHook('preClose', (done) => { holds.release(); done(); });
 * const decision = guard.authorize(principal, request);
 * await holds.wait(decision);
 * reply.send({ result: decision.allowed ? 'allow' : 'deny' });
 * ```
 */
export class ReplyHolds {
  readonly #pending = new Map<NodeJS.Timeout, () => void>();

  /** Replies held now. */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * Resolves once the decision's hold has passed, or on {@link release}. Undefined when there is nothing
   * to wait for (an allow, no `holdMs`), so a caller on a synchronous path can answer at once.
   */
  wait(decision: Decision): Promise<void> | undefined {
    const ms = decision.holdMs;
    if (decision.allowed || ms === undefined || !(ms > 0)) return undefined;
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => {
          this.#pending.delete(timer);
          resolve();
        },
        Math.min(ms, MAX_HOLD_MS),
      );
      // A held reply never keeps a process alive on its own.
      timer.unref();
      this.#pending.set(timer, resolve);
    });
  }

  /** Sends every held reply now (call when the adapter closes). */
  release(): void {
    for (const [timer, resolve] of this.#pending) {
      clearTimeout(timer);
      resolve();
    }
    this.#pending.clear();
  }
}

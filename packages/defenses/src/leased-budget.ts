import type { Lease, SharedState } from './shared-state.js';
import { TokenBuckets } from './token-buckets.js';

/** A budget a connect takes one token of before it may cost a verification. */
export interface Budget {
  /** True when a token was taken (synchronously when this process holds one). */
  take(): boolean | Promise<boolean>;
  /** Ms until a token may be there again. */
  msUntil(): number;
}

/** A {@link Budget} of one token bucket in this process (the memory store's, today's behaviour). */
export function localBudget(
  rate: { readonly perSecond: number; readonly burst: number },
  now?: () => number,
) {
  const buckets = new TokenBuckets(rate, { max: 1, ...(now && { now }) });
  return { take: () => buckets.take(''), msUntil: () => buckets.msUntil('') } satisfies Budget;
}

export interface LeasedBudgetOptions {
  readonly shared: SharedState;
  /** The store key of the fleet-wide window. */
  readonly key: string;
  /** The fleet-wide budget; `burst` only sizes the fallback. */
  readonly rate: { readonly perSecond: number; readonly burst: number };
  /** The budget of a window is leased in this many chunks at most (default 10). */
  readonly chunks?: number;
  /** Replicas last known alive (for the fallback while the store is down); at least 1 is used. */
  readonly replicas: () => number;
  /** Called on every store failure (the caller logs and counts). */
  readonly onError: (error: unknown) => void;
  /** Called when a lease succeeds again. */
  readonly onSuccess?: () => void;
  /** After a failure, the store is asked again after this long (default 1,000 ms). */
  readonly retryMs?: number;
  readonly now?: () => number;
}

interface Lot {
  n: number;
  /** Local ms at which the store window the tokens belong to ends (never later: see {@link lease}). */
  readonly expires: number;
}

/**
 * A verification budget shared by every replica: the store holds a fixed window (1 s, or longer for a
 * rate under one per second) of `perSecond` tokens, and each replica leases them in chunks of
 * `perSecond / chunks`, asking for the next chunk when half of its current one is spent (so a busy
 * replica rarely waits for the store). Leased tokens die with their window, so the fleet never starts
 * more than `perSecond` verifications in one store window; tokens leased but not used are lost to the
 * fleet (at most one chunk per replica per window). A replica holding no token waits for one lease;
 * while the window is spent it refuses without asking the store again.
 *
 * Store down: this replica takes from a bucket of its own of `perSecond / replicas` (burst
 * `burst / replicas`), `replicas` as last seen alive: bounded, never unlimited; the store is asked again
 * every `retryMs`.
 *
 * @example
 * ```ts
 * const budget = new LeasedBudget({ shared, key: 'p:storm:fresh', rate: { perSecond: 200, burst: 400 },
 *   replicas: () => 2, onError: console.error });
 * if (!(await budget.take())) refuse();
 * ```
 */
export class LeasedBudget implements Budget {
  readonly #o: LeasedBudgetOptions;
  readonly #now: () => number;
  readonly #windowMs: number;
  readonly #perWindow: number;
  readonly #chunk: number;
  #lots: Lot[] = [];
  #pending: Promise<void> | undefined;
  #spentUntil = 0;
  #downUntil = 0;
  #fallback: { replicas: number; budget: Budget } | undefined;

  constructor(options: LeasedBudgetOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    const { perSecond } = options.rate;
    this.#windowMs = Math.max(1000, Math.ceil(1000 / perSecond));
    this.#perWindow = Math.max(1, Math.floor((perSecond * this.#windowMs) / 1000));
    this.#chunk = Math.max(1, Math.ceil(this.#perWindow / (options.chunks ?? 10)));
  }

  /** True since the store's last failure until a lease succeeds (this replica uses its own share meanwhile). */
  get degraded(): boolean {
    return this.#downUntil > 0;
  }

  /** Tokens this replica holds now. */
  get held(): number {
    const now = this.#now();
    return this.#lots.reduce((sum, lot) => sum + (lot.expires > now ? lot.n : 0), 0);
  }

  take(): boolean | Promise<boolean> {
    if (this.#takeHeld()) return true;
    const now = this.#now();
    if (now < this.#downUntil) return this.#fallbackBudget().take();
    if (now < this.#spentUntil) return false;
    return this.#takeAfterLease();
  }

  msUntil(): number {
    const now = this.#now();
    if (now < this.#downUntil) return this.#fallbackBudget().msUntil();
    return Math.max(0, this.#spentUntil - now);
  }

  #takeHeld(): boolean {
    const now = this.#now();
    this.#lots = this.#lots.filter((lot) => lot.expires > now && lot.n > 0);
    const lot = this.#lots[0];
    if (!lot) return false;
    lot.n--;
    if (this.held <= this.#chunk / 2 && now >= this.#spentUntil && now >= this.#downUntil) {
      void this.#lease();
    }
    return true;
  }

  async #takeAfterLease(): Promise<boolean> {
    // Concurrent takers share one lease; a taker that finds the chunk taken by the others asks again.
    for (let round = 0; round < 3; round++) {
      await this.#lease();
      if (this.#takeHeld()) return true;
      const now = this.#now();
      if (now < this.#downUntil) return this.#fallbackBudget().take();
      if (now < this.#spentUntil) return false;
    }
    return false;
  }

  /** One lease at a time; its tokens expire no later than the store window they were taken from. */
  #lease(): Promise<void> {
    this.#pending ??= (async () => {
      const asked = this.#now();
      try {
        const lease: Lease = await this.#o.shared.lease(
          this.#o.key,
          this.#perWindow,
          this.#windowMs,
          this.#chunk,
        );
        // `asked` is before the store read its clock, so asked + msLeft is not after the window's end.
        const expires = asked + lease.msLeft;
        if (lease.granted > 0) this.#lots.push({ n: lease.granted, expires });
        else this.#spentUntil = expires;
        this.#downUntil = 0;
        this.#o.onSuccess?.();
      } catch (error) {
        this.#downUntil = this.#now() + (this.#o.retryMs ?? 1000);
        this.#o.onError(error);
      } finally {
        this.#pending = undefined;
      }
    })();
    return this.#pending;
  }

  #fallbackBudget(): Budget {
    const replicas = Math.max(1, Math.floor(this.#o.replicas()));
    if (this.#fallback?.replicas !== replicas) {
      const { perSecond, burst } = this.#o.rate;
      const share = { perSecond: perSecond / replicas, burst: Math.max(1, Math.floor(burst / replicas)) };
      this.#fallback = { replicas, budget: localBudget(share, this.#now) };
    }
    return this.#fallback.budget;
  }
}

/** How many readings a {@link CoarseClock} serves from one look at the system clock, at most. */
const READS = 64;

/** A clock in ms, and how far behind the system clock a reading may be. */
export interface Clock {
  now(): number;
  readonly lagMs: number;
}

/**
 * `Date.now()` read at most every `lagMs` of event-loop time or every 64 readings, whichever comes first:
 * a reading is never more than `lagMs` behind while the event loop runs. The decision cache asks for the
 * time on every lookup, and the system clock is a call into C++ (and, on some virtual machines, a
 * system call) that cost about as much as the lookup itself. A one-shot unref'd timer marks the reading
 * stale; it is armed only after a fresh reading, so an idle clock sets no timers.
 *
 * @example
 * ```ts
 * const clock = new CoarseClock(100);
 * clock.now(); // Date.now(), or a reading of it taken at most 100 ms (or 64 readings) ago
 * ```
 */
export class CoarseClock implements Clock {
  readonly lagMs: number;
  #time = 0;
  #reads = READS;
  #armed = false;
  readonly #stale = () => {
    this.#armed = false;
    this.#reads = READS;
  };

  constructor(lagMs: number) {
    this.lagMs = lagMs;
  }

  now(): number {
    if (++this.#reads < READS) return this.#time;
    this.#reads = 0;
    this.#time = Date.now();
    if (!this.#armed) {
      this.#armed = true;
      // Some fake timers (jest's legacy ones) hand back a number.
      (setTimeout(this.#stale, this.lagMs) as { unref?: () => void }).unref?.();
    }
    return this.#time;
  }
}

/**
 * The decision cache's clock (for its generations' age, never for credential expiry): exact when `now` is
 * given (tests inject one) or the lag would be under 1 ms, else a {@link CoarseClock} lagging at most `lagMs`.
 */
export function guardClock(lagMs: number, now?: () => number): Clock {
  if (now === undefined && lagMs >= 1) return new CoarseClock(lagMs);
  return { now: now ?? Date.now, lagMs: 0 };
}

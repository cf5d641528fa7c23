import type { CounterStore } from './counter-store.js';
import type { DefensesConfig } from './defenses-config.js';
import { type LockKind, lockKey, parseLockKey } from './lockout-key.js';

/** Who is attempting a login, as the guard sees it (nothing here is proven yet). */
export interface LoginAttempt {
  readonly username?: string;
  readonly clientId: string;
  /** Remote address, already reduced by {@link addressKey}. */
  readonly address?: string;
}

/** A key currently locked. */
export interface LockoutEntry {
  /** As `lockout clear` takes it, e.g. `user-address:alice@10.0.0.1`. */
  readonly key: string;
  readonly kind: LockKind;
  /** Ms since the epoch. */
  readonly until: number;
}

/** A lock that answered an attempt or was just placed. */
export interface Lock {
  readonly kind: LockKind;
  readonly subject: string;
  readonly until: number;
}

type LockoutConfig = DefensesConfig['lockout'];

/**
 * Brute-force lockout on consecutive failures per username, per username and address and per client
 * id, each locked with exponential back-off (`initialSeconds` doubled at every further failure, capped
 * at `maxSeconds`), plus failures per address per minute and per day. {@link Lockout.check} reads only the locks, so a
 * locked attempt is answered before any hash is verified. Store errors reject with `ERR_UNAVAILABLE`.
 *
 * @example
 * ```ts
 * const lockout = new Lockout(store, parseDefensesConfig().lockout);
 * if (await lockout.check(attempt)) return wrongPassword;
 * await lockout.charge(attempt);
 * if (await verify()) await lockout.succeeded(attempt);
 * ```
 */
export class Lockout {
  readonly #config: LockoutConfig;
  readonly #locks;
  readonly #failures;
  readonly #minute;
  readonly #daily;
  readonly #now: () => number;

  constructor(store: CounterStore, config: LockoutConfig, now: () => number = Date.now) {
    this.#config = config;
    this.#now = now;
    this.#locks = store.counter('lock', config.backoff.maxSeconds);
    this.#failures = store.counter('fail', config.failureWindowSeconds);
    this.#minute = store.counter('minute', 60);
    this.#daily = store.counter('day', 86_400);
  }

  /** The first lock that applies to this attempt, or undefined. */
  async check(attempt: LoginAttempt): Promise<Lock | undefined> {
    const subjects = this.#subjects(attempt);
    const found = await Promise.all(subjects.map((s) => this.#locks.get(s.key)));
    const index = found.findIndex((f) => f !== undefined);
    if (index < 0) return undefined;
    const subject = subjects[index]!;
    return { kind: subject.kind, subject: subject.subject, until: this.#now() + found[index]!.msLeft };
  }

  /**
   * Counts the attempt as a failure before it is verified, so that attempts in flight count too (a
   * flood cannot run more verifications than the thresholds while the first ones are still running);
   * resolves to the locks it placed. Follow with {@link Lockout.succeeded} or {@link Lockout.refund}
   * unless the credential turned out wrong.
   */
  async charge(attempt: LoginAttempt): Promise<Lock[]> {
    const placed: Lock[] = [];
    const thresholds: Record<Exclude<LockKind, 'address'>, number> = {
      user: this.#config.username.failures,
      'user-address': this.#config.usernameAddress.failures,
      client: this.#config.clientId.failures,
    };
    await Promise.all(
      this.#subjects(attempt).map(async ({ kind, key, subject }) => {
        if (kind === 'address') {
          const [minute, day] = await Promise.all([this.#minute.add(key), this.#daily.add(key)]);
          // The longer of the windows whose threshold is reached: the rest of the minute, or of the day.
          const msLeft = Math.max(
            minute.count >= this.#config.addressPerMinute.failures ? minute.msLeft : 0,
            day.count >= this.#config.addressPerDay.failures ? day.msLeft : 0,
          );
          if (msLeft <= 0) return;
          await this.#locks.set(key, 1, msLeft / 1000);
          placed.push({ kind, subject, until: this.#now() + msLeft });
          return;
        }
        const { count } = await this.#failures.add(key);
        const over = count - thresholds[kind];
        if (over < 0) return;
        const { initialSeconds, maxSeconds } = this.#config.backoff;
        const seconds = Math.min(initialSeconds * 2 ** Math.min(over, 40), maxSeconds);
        await this.#locks.set(key, 1, seconds);
        placed.push({ kind, subject, until: this.#now() + seconds * 1000 });
      }),
    );
    return placed;
  }

  /** Takes back a {@link Lockout.charge} for an attempt that was not a wrong credential (e.g. "try later"). */
  async refund(attempt: LoginAttempt): Promise<void> {
    await Promise.all(
      this.#subjects(attempt).flatMap(({ kind, key }) =>
        (kind === 'address' ? [this.#minute, this.#daily] : [this.#failures]).map((c) => c.add(key, -1)),
      ),
    );
  }

  /**
   * A proven login: the username's, the username-from-address and the client id's failures start again
   * (and a lock the attempt's own charge placed is lifted); the address gets its charge back.
   */
  async succeeded(attempt: LoginAttempt): Promise<void> {
    await Promise.all(
      this.#subjects(attempt).flatMap(({ kind, key }): Promise<unknown>[] =>
        kind === 'address'
          ? [this.#minute.add(key, -1), this.#daily.add(key, -1)]
          : [this.#failures.delete(key), this.#locks.delete(key)],
      ),
    );
  }

  /** Keys locked now (at most `limit`). */
  async list(limit = 10_000): Promise<LockoutEntry[]> {
    const now = this.#now();
    return (await this.#locks.list(limit))
      .filter((entry) => entry.msLeft > 0)
      .map((entry) => ({ key: entry.key, kind: parseLockKey(entry.key), until: now + entry.msLeft }));
  }

  /**
   * Lifts a lock and forgets its failures; resolves to whether there was anything to clear. Throws
   * `ERR_INVALID_INPUT` for a string that is not a lockout key.
   */
  async clear(key: string): Promise<boolean> {
    const kind = parseLockKey(key);
    const counts = kind === 'address' ? [this.#minute, this.#daily] : [this.#failures];
    const deleted = await Promise.all([this.#locks, ...counts].map((counter) => counter.delete(key)));
    return deleted.some(Boolean);
  }

  #subjects(attempt: LoginAttempt): { kind: LockKind; key: string; subject: string }[] {
    const subjects: { kind: LockKind; key: string; subject: string }[] = [];
    const { username, clientId, address } = attempt;
    if (username !== undefined && username !== '') {
      subjects.push({ kind: 'user', key: lockKey('user', username), subject: username });
      if (address !== undefined) {
        subjects.push({
          kind: 'user-address',
          key: lockKey('user-address', username, address),
          subject: username,
        });
      }
    }
    if (clientId !== '')
      subjects.push({ kind: 'client', key: lockKey('client', clientId), subject: clientId });
    if (address !== undefined)
      subjects.push({ kind: 'address', key: lockKey('address', address), subject: address });
    return subjects;
  }
}

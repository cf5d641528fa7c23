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
 * at `maxSeconds`), plus failures per address per day. {@link Lockout.check} reads only the locks, so a
 * locked attempt is answered before any hash is verified. Store errors reject with `ERR_UNAVAILABLE`.
 *
 * @example
 * ```ts
 * const lockout = new Lockout(store, parseDefensesConfig().lockout);
 * if (await lockout.check(attempt)) return wrongPassword;
 * const ok = await verify();
 * ok ? await lockout.succeeded(attempt) : await lockout.failed(attempt);
 * ```
 */
export class Lockout {
  readonly #config: LockoutConfig;
  readonly #locks;
  readonly #failures;
  readonly #daily;
  readonly #now: () => number;

  constructor(store: CounterStore, config: LockoutConfig, now: () => number = Date.now) {
    this.#config = config;
    this.#now = now;
    this.#locks = store.counter('lock', config.backoff.maxSeconds);
    this.#failures = store.counter('fail', config.failureWindowSeconds);
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

  /** Counts a wrong credential; resolves to the locks it placed. */
  async failed(attempt: LoginAttempt): Promise<Lock[]> {
    const placed: Lock[] = [];
    const thresholds: Record<Exclude<LockKind, 'address'>, number> = {
      user: this.#config.username.failures,
      'user-address': this.#config.usernameAddress.failures,
      client: this.#config.clientId.failures,
    };
    await Promise.all(
      this.#subjects(attempt).map(async ({ kind, key, subject }) => {
        if (kind === 'address') {
          const day = await this.#daily.add(key);
          if (day.count < this.#config.addressPerDay.failures) return;
          await this.#locks.set(key, 1, day.msLeft / 1000);
          placed.push({ kind, subject, until: this.#now() + day.msLeft });
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

  /** A proven login: the username's, the username-from-address and the client id's counts start again. */
  async succeeded(attempt: LoginAttempt): Promise<void> {
    await Promise.all(
      this.#subjects(attempt)
        .filter((s) => s.kind !== 'address')
        .map((s) => this.#failures.delete(s.key)),
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
    const counts = kind === 'address' ? this.#daily : this.#failures;
    const [lock, count] = await Promise.all([this.#locks.delete(key), counts.delete(key)]);
    return lock || count;
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

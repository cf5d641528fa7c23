import { type AlertRules, DEFAULT_ALERT_RULES } from './alert-rules.js';
import type { AlertDetail, AuditRecord } from './audit-record.js';
import { BoundedMap } from './bounded-map.js';
import { networkOf } from './network-of.js';

/** Authentication refusals that count as failures: not those where our own backend could not answer. */
const FAILURES = new Set(['bad-credentials', 'not-authorized', 'no-authenticator', 'expired']);
/** How long a lockout or rate limit is remembered as "what was done" for a source without an `until`. */
const TAKEN_MS = 10 * 60_000;
const STORM_COOLDOWN_MS = 60_000;

/** Events of one key in a sliding window: their times (at most `cap`), the current streak and the last alert. */
interface Window {
  times: number[];
  since: number;
  total: number;
  alertedAt: number;
}

/** Per address: the usernames (hashed) that failed, with when they last did. */
interface Usernames {
  seen: Map<number, number>;
  since: number;
  total: number;
  alertedAt: number;
}

/**
 * Evaluates the alert rules on the audit stream, in process, over sliding windows. Memory is bounded:
 * each rule tracks at most `maxKeys` keys, a window holds at most its threshold + 1 times, and
 * usernames are kept as 32-bit hashes. After an alert, the same rule and key stay quiet for one window.
 *
 * @example
 * ```ts
 * const engine = new AlertEngine(DEFAULT_ALERT_RULES, (alert) => console.log(alert.what));
 * engine.observe(record, Date.now());
 * ```
 */
export class AlertEngine {
  readonly #rules: AlertRules;
  readonly #raise: (alert: AlertDetail, record: AuditRecord) => void;
  readonly #failures: BoundedMap<string, Window>;
  readonly #usernames: BoundedMap<string, Usernames>;
  readonly #refused: BoundedMap<string, Window>;
  readonly #networks: BoundedMap<string, string[]>;
  readonly #taken: BoundedMap<string, { what: string; until: number }>;
  readonly #storm: Window = { times: [], since: 0, total: 0, alertedAt: -Infinity };

  constructor(rules: AlertRules, raise: (alert: AlertDetail, record: AuditRecord) => void) {
    this.#rules = rules;
    this.#raise = raise;
    const max = rules.maxKeys ?? DEFAULT_ALERT_RULES.maxKeys;
    this.#failures = new BoundedMap(max);
    this.#usernames = new BoundedMap(max);
    this.#refused = new BoundedMap(max);
    this.#networks = new BoundedMap(max);
    this.#taken = new BoundedMap(max);
  }

  /** Feeds one record (authorization allows need not be fed: no rule reads them). */
  observe(record: AuditRecord, now: number): void {
    switch (record.kind) {
      case 'authenticate':
        this.#connect(record, now);
        break;
      case 'authorize':
        if (record.decision === 'deny') this.#refusal(record, now);
        break;
      case 'lockout':
      case 'rate-limited':
        this.#defense(record, now);
        break;
    }
  }

  #connect(record: AuditRecord, now: number): void {
    const storm = this.#rules.reconnectStorm;
    if (storm) {
      const window = this.#storm;
      const count = slide(window, now, 1000, storm.perSecond + 1);
      if (count > storm.perSecond && now - window.alertedAt >= STORM_COOLDOWN_MS) {
        window.alertedAt = now;
        this.#alert(
          'reconnectStorm',
          'fleet',
          `more than ${storm.perSecond} connects per second`,
          window,
          record,
        );
      }
    }
    const address = record.address;
    if (record.decision === 'allow') {
      if (address !== undefined && record.principal !== undefined)
        this.#network(record, record.principal, address, now);
      return;
    }
    if (address === undefined || !FAILURES.has(record.reason ?? '')) return;
    const perAddress = this.#rules.failuresPerAddress;
    if (perAddress) {
      const windowMs = perAddress.windowSeconds * 1000;
      const window = entry(this.#failures, address);
      const count = slide(window, now, windowMs, perAddress.max + 1);
      if (count > perAddress.max && now - window.alertedAt >= windowMs) {
        window.alertedAt = now;
        this.#alert(
          'failuresPerAddress',
          address,
          `more than ${perAddress.max} failed logins from ${address} in ${perAddress.windowSeconds} s`,
          window,
          record,
        );
      }
    }
    const stuffing = this.#rules.credentialStuffing;
    if (stuffing) {
      const windowMs = stuffing.windowSeconds * 1000;
      let state = this.#usernames.get(address);
      if (state === undefined) {
        state = { seen: new Map(), since: now, total: 0, alertedAt: -Infinity };
        this.#usernames.set(address, state);
      }
      const name = hash(record.username ?? '');
      state.seen.delete(name);
      state.seen.set(name, now);
      // Oldest first: a Map iterates in insertion order, and a username seen again was moved last.
      for (const [key, at] of state.seen) {
        if (at > now - windowMs) break;
        state.seen.delete(key);
      }
      if (state.seen.size > stuffing.usernames + 1) state.seen.delete(state.seen.keys().next().value!);
      if (state.seen.size === 1) {
        state.since = now;
        state.total = 0;
      }
      state.total++;
      if (state.seen.size > stuffing.usernames && now - state.alertedAt >= windowMs) {
        state.alertedAt = now;
        this.#alert(
          'credentialStuffing',
          address,
          `failed logins for more than ${stuffing.usernames} usernames from ${address} in ${stuffing.windowSeconds} s`,
          state,
          record,
        );
      }
    }
  }

  #network(record: AuditRecord, device: string, address: string, now: number): void {
    const rule = this.#rules.newNetwork;
    if (!rule) return;
    const network = networkOf(address);
    const known = this.#networks.get(device);
    if (known === undefined) {
      this.#networks.set(device, [network]);
      return;
    }
    if (known.includes(network)) return;
    this.#alert(
      'newNetwork',
      device,
      `device ${device} connected from ${address}, a network it has not used (known: ${known.join(', ')})`,
      { since: now, total: 1 },
      record,
    );
    known.push(network);
    if (known.length > rule.networksPerDevice) known.shift();
  }

  #refusal(record: AuditRecord, now: number): void {
    const rule = this.#rules.refusedPerDevice;
    const device = record.principal ?? record.clientId;
    if (!rule || device === undefined || record.reason === 'error') return;
    const windowMs = rule.windowSeconds * 1000;
    const window = entry(this.#refused, device);
    const count = slide(window, now, windowMs, rule.max + 1);
    if (count > rule.max && now - window.alertedAt >= windowMs) {
      window.alertedAt = now;
      this.#alert(
        'refusedPerDevice',
        device,
        `more than ${rule.max} refused publishes/subscriptions for ${device} in ${rule.windowSeconds} s (last: ${record.action} ${record.topic})`,
        window,
        record,
      );
    }
  }

  #defense(record: AuditRecord, now: number): void {
    const what = record.kind === 'lockout' ? 'locked' : record.reason === 'slowed' ? 'slowed' : 'limited';
    const until = record.until ? Date.parse(record.until) : now + TAKEN_MS;
    for (const key of [record.address, record.principal, record.clientId, record.username]) {
      if (key !== undefined) this.#taken.set(key, { what, until });
    }
    if (record.kind !== 'lockout' || this.#rules.lockout === false) return;
    const source = record.address ?? record.username ?? record.clientId ?? record.principal ?? 'unknown';
    this.#alert(
      'lockout',
      source,
      `lockout of ${record.scope ?? 'a key'} ${record.username ?? record.clientId ?? source}${record.until ? ` until ${record.until}` : ''}`,
      { since: now, total: record.count ?? 1 },
      record,
    );
  }

  #alert(
    rule: string,
    source: string,
    what: string,
    window: { since: number; total: number },
    record: AuditRecord,
  ): void {
    const taken = this.#takenFor(source, Date.parse(record.time));
    this.#raise(
      {
        rule,
        source,
        what,
        since: new Date(window.since).toISOString(),
        count: window.total,
        ...(taken ? { taken } : {}),
      },
      record,
    );
  }

  #takenFor(source: string, now: number): string | undefined {
    const taken = this.#taken.get(source);
    return taken && taken.until > now ? taken.what : undefined;
  }
}

function entry(map: BoundedMap<string, Window>, key: string): Window {
  let window = map.get(key);
  if (window === undefined) {
    window = { times: [], since: 0, total: 0, alertedAt: -Infinity };
    map.set(key, window);
  }
  return window;
}

/** Adds an event at `now`, forgets those older than the window; returns how many are in it (at most `cap`). */
function slide(window: Window, now: number, windowMs: number, cap: number): number {
  const times = window.times;
  let drop = 0;
  while (drop < times.length && times[drop]! <= now - windowMs) drop++;
  if (drop > 0) times.splice(0, drop);
  if (times.length === 0) {
    window.since = now;
    window.total = 0;
  }
  times.push(now);
  if (times.length > cap) times.shift();
  window.total++;
  return times.length;
}

/** FNV-1a: usernames are counted, not kept. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

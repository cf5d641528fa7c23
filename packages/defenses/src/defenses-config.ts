import { z } from 'zod';

const seconds = z
  .int()
  .positive()
  .max(31 * 86_400);
const threshold = z.int().positive().max(1_000_000);
/** A fixed window: at most `points` in `seconds` (rate-limiter-flexible's model, shared through the store). */
const window = (points: number, secs: number) =>
  z.strictObject({ points: threshold.default(points), seconds: seconds.default(secs) }).prefault({});
/** A token bucket: `burst` at once, refilled at `perSecond`. */
const bucket = (perSecond: number, burst: number) =>
  z
    .strictObject({ perSecond: z.number().positive().default(perSecond), burst: threshold.default(burst) })
    .prefault({});
const on = z.boolean().default(true);

/**
 * The `defenses` block: brute-force lockout, rate limits and connect-storm control. Every part is on by
 * default; `enabled: false` turns off one part or (at the top) all of them. See docs/protection.md.
 */
export const DefensesConfigSchema = z
  .strictObject({
    enabled: on,
    /** Where lockout counters and connect limits live: `memory` (one replica) or a Redis shared by replicas. */
    store: z
      .union([
        z.literal('memory'),
        z.strictObject({
          redis: z.strictObject({
            url: z
              .string()
              .regex(/^rediss?:\/\//, 'write a Redis URL, e.g. redis://127.0.0.1:6379/0 (rediss:// for TLS)'),
            /** Prefix of every key written; replicas sharing state use the same one. */
            keyPrefix: z
              .string()
              .regex(/^[A-Za-z0-9:_.-]{1,64}$/, 'letters, digits and : _ . - (at most 64)')
              .default('mqtt-warden:defenses'),
            /** A Redis command slower than this counts as a store error. */
            timeoutMs: z.int().min(10).max(30_000).default(500),
          }),
        }),
      ])
      .default('memory'),
    /**
     * When the store cannot answer: `closed` (default) refuses the connect as "unavailable, try later";
     * `open` falls back to counters in this process's memory (bounded, per replica) until the store is back.
     */
    onStoreError: z.enum(['closed', 'open']).default('closed'),
    lockout: z
      .strictObject({
        enabled: on,
        /** Consecutive failures for one username, from anywhere, before it is locked (high: anyone can try). */
        username: z.strictObject({ failures: threshold.default(20) }).prefault({}),
        /** Consecutive failures for one username from one address (low: only that address is locked). */
        usernameAddress: z.strictObject({ failures: threshold.default(5) }).prefault({}),
        /** Consecutive failures for one client id. */
        clientId: z.strictObject({ failures: threshold.default(10) }).prefault({}),
        /**
         * Failures from one address in a minute, whatever the usernames: a flood of guesses (credential
         * stuffing) costs at most this many verifications a minute; the address stays locked for the rest of it.
         */
        addressPerMinute: z.strictObject({ failures: threshold.default(30) }).prefault({}),
        /** Failures from one address in a day, whatever the usernames; locked for the rest of the day. */
        addressPerDay: z.strictObject({ failures: threshold.default(500) }).prefault({}),
        /** Lock length: `initialSeconds`, doubled at each further failure, at most `maxSeconds`. */
        backoff: z
          .strictObject({ initialSeconds: seconds.default(10), maxSeconds: seconds.default(900) })
          .refine((b) => b.maxSeconds >= b.initialSeconds, {
            error: 'maxSeconds must be at least initialSeconds',
          })
          .prefault({}),
        /** How long consecutive failures are remembered without a success. */
        failureWindowSeconds: seconds.default(86_400),
      })
      .prefault({}),
    rateLimits: z
      .strictObject({
        enabled: on,
        /** Connect attempts (shared through the store). */
        connects: z.strictObject({ perAddress: window(300, 10), perClientId: window(30, 10) }).prefault({}),
        /** Authorization requests (publish, subscribe, receive), per replica: they are answered synchronously. */
        requests: z
          .strictObject({
            perAddress: bucket(2000, 4000),
            perClientId: bucket(500, 1000),
            perPrincipal: bucket(1000, 2000),
            /** Tokens a refused request costs: a client that keeps asking for what it was refused runs dry. */
            deniedCost: z.int().min(1).max(10_000).default(10),
          })
          .prefault({}),
      })
      .prefault({}),
    storm: z
      .strictObject({
        enabled: on,
        /** New verifications per second in this process (credentials not verified recently). */
        verificationsPerSecond: bucket(200, 400),
        /** Verifications per second of credentials this process verified successfully within `recentSeconds`. */
        recentPerSecond: bucket(1000, 2000),
        recentSeconds: seconds.default(3600),
        /** Credentials remembered (as keyed digests, never the password). */
        recentMax: z.int().positive().max(10_000_000).default(100_000),
      })
      .prefault({}),
  })
  .prefault({});

/** A validated `defenses` block, defaults filled in. */
export type DefensesConfig = z.output<typeof DefensesConfigSchema>;
/** A `defenses` block as written (every field optional). */
export type DefensesConfigInput = z.input<typeof DefensesConfigSchema>;

/**
 * Validates a `defenses` block and fills in the defaults.
 *
 * @example
 * ```ts
 * const config = parseDefensesConfig({ store: { redis: { url: 'redis://127.0.0.1:6379' } } });
 * config.lockout.usernameAddress.failures; // 5
 * ```
 */
export function parseDefensesConfig(input: DefensesConfigInput = {}): DefensesConfig {
  return DefensesConfigSchema.parse(input);
}

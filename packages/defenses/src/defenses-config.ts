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

/** The adapters whose refused replies may be held; go-auth is left out (see below). */
const HOLDING_ADAPTERS = ['aedes', 'emqx', 'rabbitmq'];

/**
 * Holding the replies of a client that keeps asking for what it was refused. Bounded, because a held
 * HTTP reply ties one of the broker's pooled connections (EMQX: 8) and must end well before the
 * broker's request timeout (go-auth's can be 1 s; a timed-out EMQX request is an "ignore").
 */
const slowdown = z
  .strictObject({
    enabled: on.describe('Hold the refused replies of keys being drained by refusals; `false`: refuse only.'),
    below: z
      .number()
      .min(0.01)
      .max(1)
      .default(0.5)
      .describe(
        "Share of a bucket's burst under which a key's refused requests are held: the hold grows from 0 there to `maxDelayMs` at an empty bucket.",
      ),
    maxDelayMs: z
      .int()
      .min(1)
      .max(1000)
      .default(500)
      .describe(
        "Longest hold of one reply. At most 1000: a held reply must end well before the broker's request timeout.",
      ),
    maxHeld: z
      .int()
      .min(1)
      .max(1000)
      .default(2)
      .describe(
        'Replies held at once in this process, all keys together (one per key); past it a refused reply goes out at once. Small: each held HTTP reply ties a pooled broker connection.',
      ),
    adapters: z
      .array(z.string().regex(/^[a-z0-9-]{1,32}$/, 'an adapter name, e.g. emqx'))
      .max(16)
      .default(HOLDING_ADAPTERS)
      .describe(
        'Adapters whose replies may be held (`aedes`, `emqx`, `rabbitmq`, `go-auth`, or your own AuditContext name). go-auth is left out by default: Mosquitto waits for each ACL answer on its single thread, so a held reply would stall every client of the broker.',
      ),
  })
  .prefault({});

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
            perAddress: bucket(2000, 4000).describe(
              'Authorization requests per client address (IPv6 by /64).',
            ),
            perClientId: bucket(500, 1000).describe('Authorization requests per client id.'),
            perPrincipal: bucket(1000, 2000).describe('Authorization requests per authenticated principal.'),
            deniedCost: z
              .int()
              .min(1)
              .max(10_000)
              .default(10)
              .describe(
                'Tokens a refused request costs (a granted one costs 1): a client that keeps asking for what it was refused runs dry first.',
              ),
            slowdown: slowdown.describe(
              'Slowed, then refused: once a key has spent its bucket below `below`, the replies to its refused requests are held (at most `maxHeld` at once, one per key); an empty bucket refuses at once. See docs/protection.md.',
            ),
          })
          .describe(
            'Authorization requests (publish, subscribe, receive), limited in each replica: they are answered synchronously.',
          )
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

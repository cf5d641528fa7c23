import { z } from 'zod';

const seconds = z
  .int()
  .positive()
  .max(31 * 86_400);
const threshold = z.int().positive().max(1_000_000);
/** A fixed window: at most `points` in `seconds` (rate-limiter-flexible's model, shared through the store). */
const window = (points: number, secs: number, what: string) =>
  z
    .strictObject({
      points: threshold.default(points).describe('Attempts allowed in one window.'),
      seconds: seconds.default(secs).describe('Length of the window, from its first attempt.'),
    })
    .prefault({})
    .describe(what);
/** A token bucket: `burst` at once, refilled at `perSecond`. */
const bucket = (perSecond: number, burst: number, what: string) =>
  z
    .strictObject({
      perSecond: z.number().positive().default(perSecond).describe('Tokens refilled per second.'),
      burst: threshold.default(burst).describe('Tokens at most (what a quiet key can spend at once).'),
    })
    .prefault({})
    .describe(what);
const failures = (n: number, what: string) =>
  z
    .strictObject({ failures: threshold.default(n).describe('Failures before the key is locked.') })
    .prefault({})
    .describe(what);
const on = (what: string) => z.boolean().default(true).describe(what);

/** The adapters whose refused replies may be held; go-auth is left out (see below). */
const HOLDING_ADAPTERS = ['aedes', 'emqx', 'rabbitmq'];

/**
 * Holding the replies of a client that keeps asking for what it was refused. Bounded, because a held
 * HTTP reply ties one of the broker's pooled connections (EMQX: 8) and must end well before the
 * broker's request timeout (go-auth's can be 1 s; a timed-out EMQX request is an "ignore").
 */
const slowdown = z
  .strictObject({
    enabled: on('Hold the refused replies of keys being drained by refusals; `false`: refuse only.'),
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
 * `store.redis`: a Redis shared by the replicas. The server config gives `url` the schema of its secrets
 * (inline, `{ env }`, `{ file }`) through `extend`; here it is the URL itself.
 */
export const RedisStoreSchema = z
  .strictObject({
    url: z
      .string()
      .regex(/^rediss?:\/\//, 'write a Redis URL, e.g. redis://127.0.0.1:6379/0 (rediss:// for TLS)')
      .describe('Redis URL, e.g. redis://127.0.0.1:6379/0 (rediss:// for TLS).'),
    keyPrefix: z
      .string()
      .regex(/^[A-Za-z0-9:_.-]{1,64}$/, 'letters, digits and : _ . - (at most 64)')
      .default('mqtt-warden:defenses')
      .describe('Prefix of every key written; replicas sharing state use the same one.'),
    timeoutMs: z
      .int()
      .min(10)
      .max(30_000)
      .default(500)
      .describe('A Redis command slower than this counts as a store error.'),
  })
  .describe('A Redis shared by the replicas.');

/**
 * The `defenses` block: brute-force lockout, rate limits and connect-storm control. Every part is on by
 * default; `enabled: false` turns off one part or (at the top) all of them. See docs/protection.md.
 */
export const DefensesConfigSchema = z
  .strictObject({
    enabled: on('false turns every defense off.'),
    store: z
      .union([z.literal('memory'), z.strictObject({ redis: RedisStoreSchema })])
      .default('memory')
      .describe(
        'Where the defenses keep their state: `memory` (one replica) or `{ redis: { url } }`, shared by replicas (docs/replicas.md).',
      ),
    onStoreError: z
      .enum(['closed', 'open'])
      .default('closed')
      .describe(
        'Store down: `closed` refuses connects as "try later"; `open` falls back to bounded counters in this process until the store is back.',
      ),
    lockout: z
      .strictObject({
        enabled: on('false turns the lockout off.'),
        username: failures(
          20,
          'Consecutive failures for one username, from anywhere (high: anyone can try).',
        ),
        usernameAddress: failures(5, 'Consecutive failures for one username from one address.'),
        clientId: failures(10, 'Consecutive failures for one client id.'),
        addressPerMinute: failures(
          30,
          'Failures from one address in a minute, whatever the usernames; locked for the rest of the minute.',
        ),
        addressPerDay: failures(
          500,
          'Failures from one address in a day, whatever the usernames; locked for the rest of the day.',
        ),
        backoff: z
          .strictObject({
            initialSeconds: seconds.default(10).describe('Lock length at the threshold.'),
            maxSeconds: seconds
              .default(900)
              .describe('Longest lock (doubled at each further failure up to this).'),
          })
          .refine((b) => b.maxSeconds >= b.initialSeconds, {
            error: 'maxSeconds must be at least initialSeconds',
          })
          .prefault({})
          .describe('Lock length: `initialSeconds`, doubled at each further failure, at most `maxSeconds`.'),
        failureWindowSeconds: seconds
          .default(86_400)
          .describe('How long consecutive failures are remembered without a success.'),
      })
      .prefault({})
      .describe('Brute-force lockout, keyed on username, username and address, client id and address.'),
    rateLimits: z
      .strictObject({
        enabled: on('false turns connect and request rate limits off.'),
        connects: z
          .strictObject({
            perAddress: window(300, 10, 'Connect attempts from one address.'),
            perClientId: window(30, 10, 'Connect attempts under one client id.'),
          })
          .prefault({})
          .describe('Connect attempts (fixed windows in the store: shared with Redis).'),
        requests: z
          .strictObject({
            perAddress: bucket(2000, 4000, 'Authorization requests per remote address (IPv6 by /64).'),
            perClientId: bucket(500, 1000, 'Authorization requests per client id.'),
            perPrincipal: bucket(1000, 2000, 'Authorization requests per authenticated principal.'),
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
            shared: z
              .strictObject({
                enabled: on('With store: redis, share the request buckets between replicas.'),
                intervalMs: z
                  .int()
                  .min(20)
                  .max(5000)
                  .default(200)
                  .describe(
                    'How often each replica flushes its counts and reads back the fleet-wide tokens; the fleet may allow up to perSecond x intervalMs x replicas more than one bucket would.',
                  ),
                maxKeys: z
                  .int()
                  .min(1)
                  .max(100_000)
                  .default(2000)
                  .describe(
                    'Keys flushed at most per flush (oldest counts first; the rest wait for the next).',
                  ),
              })
              .prefault({})
              .describe(
                'With store: redis, approximate fleet-wide buckets: decided in each process, synced every intervalMs (ignored with store: memory).',
              ),
          })
          .prefault({})
          .describe(
            'Authorization requests (publish, subscribe, receive): token buckets, decided synchronously.',
          ),
      })
      .prefault({})
      .describe('Connect and authorization request rate limits.'),
    storm: z
      .strictObject({
        enabled: on('false turns the verification budget off.'),
        verificationsPerSecond: bucket(
          200,
          400,
          'New verifications per second (credentials not verified recently): per process with store: memory, fleet-wide with Redis (storm.shared).',
        ),
        recentPerSecond: bucket(
          1000,
          2000,
          'Verifications per second of credentials verified successfully within recentSeconds (by the same replica).',
        ),
        recentSeconds: seconds
          .default(3600)
          .describe('How long a successfully verified credential counts as recent.'),
        recentMax: z
          .int()
          .positive()
          .max(10_000_000)
          .default(100_000)
          .describe('Recent credentials remembered (as keyed digests, never the password).'),
        shared: z
          .strictObject({
            enabled: on('With store: redis, the two budgets are fleet-wide, leased from Redis.'),
            chunks: z
              .int()
              .min(1)
              .max(1000)
              .default(10)
              .describe(
                'A replica leases perSecond / chunks tokens at a time (fewer chunks: fewer round trips, more tokens idle in one replica).',
              ),
          })
          .prefault({})
          .describe(
            'With store: redis, the budgets are shared by all replicas (store down: each takes perSecond / replicas last seen). Ignored with store: memory.',
          ),
      })
      .prefault({})
      .describe(
        'Connect-storm control: a budget of verifications per second, recently verified credentials first.',
      ),
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

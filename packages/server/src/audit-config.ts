import { DEFAULT_ALERT_RULES, FACILITIES } from '@mqtt-warden/audit';
import { strictObject } from '@mqtt-warden/policy';
import { z } from 'zod';
import { secretSchema } from './secret.js';

const path = z.string().min(1, 'write a file path (relative paths are read from the config file directory)');
const seconds = z.int().positive();
const threshold = z.int().positive();

/** A rule's settings, or `false` to turn it off; a field left out keeps its default. */
function rule<T extends z.ZodRawShape>(shape: T) {
  // Every field has a default, so `{}` parses; zod's types cannot see that.
  return z.union([z.literal(false), strictObject(shape)]).prefault({} as never);
}

const d = DEFAULT_ALERT_RULES;

/** The `audit:` block of the server config: sinks, sampling of authorization allows, alert rules. */
export const AuditConfigSchema = strictObject({
  /** Share of authorization allows recorded (all are counted in mqtt_warden_audit_events_total). */
  sampleAllows: z.number().min(0).max(1).default(0.01),
  /** Bytes each sink's queue holds while the sink is slow or down; then records are dropped and counted. */
  queueBytes: z
    .int()
    .min(65_536, 'give each sink queue at least 65536 bytes')
    .default(8 * 2 ** 20),
  sinks: z
    .array(
      strictObject({
        file: strictObject({
          path,
          maxBytes: z
            .int()
            .min(4096)
            .default(100 * 2 ** 20),
          maxAgeHours: z.number().min(0).default(24),
          keep: z.int().min(0).max(1000).default(7),
        }).optional(),
        stdout: strictObject({}).optional(),
        log: strictObject({ allows: z.boolean().default(false) }).optional(),
        syslog: strictObject({
          host: z.string().min(1),
          port: z.int().min(1).max(65_535).optional(),
          protocol: z.enum(['udp', 'tcp', 'tls']).default('udp'),
          /** PEM file of the CA that signs the collector's certificate (TLS). */
          ca: path.optional(),
          facility: z
            .enum(Object.keys(FACILITIES) as [keyof typeof FACILITIES, ...(keyof typeof FACILITIES)[]])
            .default('authpriv'),
        }).optional(),
        webhook: strictObject({
          url: z.url({ protocol: /^https?$/, error: 'write an http:// or https:// URL' }),
          batchSize: z.int().min(1).max(10_000).default(100),
          /** Header values are secrets: inline, { env: NAME } or { file: PATH }. */
          headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/), secretSchema).optional(),
          timeoutMs: z.int().positive().default(10_000),
        }).optional(),
        postgres: strictObject({
          /** postgres://user:password@host/db: a secret (inline, { env: NAME } or { file: PATH }). */
          url: secretSchema,
          schema: z
            .string()
            .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a schema name: lower-case letters, digits and _')
            .default('public'),
          batchSize: z.int().min(1).max(10_000).default(200),
        }).optional(),
      }).refine((sink) => Object.values(sink).filter((v) => v !== undefined).length === 1, {
        error: 'write one sink per list item: file, stdout, log, syslog, webhook or postgres',
      }),
    )
    .default([{ log: { allows: false } }]),
  alerts: strictObject({
    /** Addresses or devices each rule tracks at most (least recently seen forgotten first). */
    maxKeys: z.int().min(100).default(d.maxKeys),
    failuresPerAddress: rule({
      max: threshold.default(d.failuresPerAddress.max),
      windowSeconds: seconds.default(d.failuresPerAddress.windowSeconds),
    }),
    credentialStuffing: rule({
      usernames: threshold.default(d.credentialStuffing.usernames),
      windowSeconds: seconds.default(d.credentialStuffing.windowSeconds),
    }),
    refusedPerDevice: rule({
      max: threshold.default(d.refusedPerDevice.max),
      windowSeconds: seconds.default(d.refusedPerDevice.windowSeconds),
    }),
    newNetwork: rule({ networksPerDevice: z.int().min(1).max(64).default(d.newNetwork.networksPerDevice) }),
    reconnectStorm: rule({ perSecond: threshold.default(d.reconnectStorm.perSecond) }),
    lockout: z.boolean().default(true),
  })
    .or(z.literal(false))
    .prefault({}),
}).prefault({});

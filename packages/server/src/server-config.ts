import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { FileReadError } from '@mqtt-warden/core';
import { DefensesConfigSchema, RedisStoreSchema } from '@mqtt-warden/defenses';
import { parseYaml, strictObject } from '@mqtt-warden/policy';
import { z } from 'zod';
import { AuditConfigSchema } from './audit-config.js';
import {
  type AuthenticatorConfig,
  AuthenticatorSchema,
  resolveAuthenticatorPaths,
} from './authenticator-config.js';
import { Secret, secretSchema } from './secret.js';
import { parseSourceRange } from './source-allowlist.js';

const path = z.string().min(1, 'write a file path (relative paths are read from the config file directory)');
const route = z
  .union([z.string().regex(/^\//, 'a path starts with "/"'), z.literal(false)])
  .describe('An HTTP path starting with "/", or false to turn the route off.');
const port = z.int().min(0).max(65_535);
const httpUrl = z.url({ protocol: /^https?$/, error: 'write an http:// or https:// URL' });
/** Headers a broker always sends or that proxies rewrite: a shared secret in them would not work. */
const RESERVED_HEADERS = [
  'host',
  'content-type',
  'content-length',
  'transfer-encoding',
  'connection',
  'user-agent',
];
const sharedSecret = strictObject({
  header: z
    .string()
    .regex(/^[A-Za-z0-9-]+$/, 'a header name is letters, digits and "-", e.g. x-mqtt-warden-secret')
    .transform((name) => name.toLowerCase())
    .refine((name) => !RESERVED_HEADERS.includes(name), {
      error: `choose a header of your own, not one of ${RESERVED_HEADERS.join(', ')}`,
    })
    .default('x-mqtt-warden-secret'),
  value: secretSchema,
}).describe(
  'A header the broker sends with a secret value on every request to the adapter (compared in constant time); requests without it get a 403.',
);

const defenses = DefensesConfigSchema.unwrap();
/** The `defenses` block, its Redis URL a secret like the PostgreSQL URL's (it may hold a password). */
const DefensesSchema = defenses
  .extend({
    store: z
      .union([
        z.literal('memory'),
        strictObject({
          redis: RedisStoreSchema.extend({
            url: secretSchema.describe(
              'Redis URL, redis://[USER:PASSWORD@]HOST:PORT/DB (rediss:// for TLS): a secret, written inline, { env: NAME } or { file: PATH }.',
            ),
          }).describe(RedisStoreSchema.description ?? ''),
        }),
      ])
      // A prefault, not a default: zod leaves defaults of transformed (secret) values out of the JSON Schema.
      .prefault('memory')
      .describe(defenses.shape.store.description ?? ''),
  })
  .prefault({});

export const ServerConfigSchema = strictObject({
  listen: strictObject({
    host: z
      .string()
      .min(1)
      .default('127.0.0.1')
      .describe('Address to listen on; overridden by --host or MQTT_WARDEN_HOST.'),
    port: port
      .default(8080)
      .describe('TCP port; 0 picks a free one. Overridden by --port or MQTT_WARDEN_PORT.'),
    tls: strictObject({
      cert: path.describe('PEM certificate (chain) of the server.'),
      key: path.describe('PEM private key of the server.'),
      ca: path
        .optional()
        .describe('PEM CA: every client (the broker) must then present a certificate issued by it.'),
    })
      .optional()
      .describe('Serve HTTPS instead of HTTP. Relative paths are read from the config file directory.'),
    allow: z
      .array(
        z.string().refine((entry) => parseSourceRange(entry) !== undefined, {
          error: 'write an IP address or a CIDR range, e.g. 10.0.0.0/8, 127.0.0.1 or fd00::/8',
        }),
      )
      .min(1, 'list at least one address or range, or leave allow out to accept every address')
      .optional()
      .describe(
        'Source addresses (IPs, CIDR ranges) that may use the listener; others get a 403 before any work. Default: every address.',
      ),
  })
    .default({ host: '127.0.0.1', port: 8080 })
    .describe('The HTTP(S) listener the brokers call; it also answers /healthz and /readyz.'),
  log: strictObject({
    level: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('Least severe level written (JSON lines on stdout). Secrets are never logged.'),
    requests: z
      .boolean()
      .default(false)
      .describe(
        'Also write a line when each HTTP request arrives and when it is answered (at info, with a request id). Off by default: brokers call for every connect, publish and subscribe, and two lines a call cost more server CPU than the decision; refusals, errors and the audit trail are logged either way.',
      ),
  })
    .default({ level: 'info', requests: false })
    .describe('Logging.'),
  limits: strictObject({
    bodyBytes: z
      .int()
      .positive()
      .default(16_384)
      .describe('Largest request body; brokers send a few hundred bytes. Larger requests get a 413.'),
    requestTimeoutMs: z
      .int()
      .positive()
      .default(10_000)
      .describe(
        'Whole-request timeout, and how long a connection may stay silent while a request is open (nothing sent, half a body, an answer not read): it is then closed.',
      ),
    keepAliveTimeoutMs: z.int().positive().default(65_000).describe('Idle keep-alive connection timeout.'),
  })
    .default({ bodyBytes: 16_384, requestTimeoutMs: 10_000, keepAliveTimeoutMs: 65_000 })
    .describe('Bounds on every HTTP request.'),
  policy: strictObject({
    file: path.describe('The policy file (YAML or JSON), see docs/policy.md.'),
    watch: z
      .boolean()
      .default(true)
      .describe('Reload the policy when the file changes (SIGHUP reloads it in any case).'),
  }).describe('Who may publish and subscribe where.'),
  authenticators: z
    .array(AuthenticatorSchema)
    .min(1, 'list at least one authenticator')
    .describe(
      'How clients prove who they are. Tried in order; the first that does not ignore the credentials decides.',
    ),
  deviceTokens: strictObject({
    enabled: z.boolean().default(false).describe('Serve the token and JWKS routes.'),
    path: z
      .string()
      .regex(/^\//, 'a path starts with "/"')
      .default('/token')
      .describe('POST here with HTTP Basic username:password and client_id=ID to get a JWT.'),
    jwksPath: z
      .string()
      .regex(/^\//, 'a path starts with "/"')
      .default('/.well-known/jwks.json')
      .describe('GET here for the public keys of the tokens.'),
    issuer: z.string().min(1).default('mqtt-warden').describe('`iss` of the tokens.'),
    audience: z.string().min(1).default('mqtt').describe('`aud` of the tokens.'),
    lifetimeSeconds: z.int().min(10).max(86_400).default(600).describe('How long a token is valid.'),
    algorithm: z
      .enum(['ES256', 'ES384', 'ES512', 'EdDSA', 'RS256', 'PS256'])
      .default('ES256')
      .describe('Signing algorithm; keys are generated in memory.'),
    rotation: strictObject({
      afterSeconds: z
        .int()
        .positive()
        .default(86_400)
        .describe('Sign with a new key once the current one is this old.'),
      overlapSeconds: z
        .int()
        .min(0)
        .default(60)
        .describe('Keep a retired key published this long after its last token expired.'),
    })
      .default({ afterSeconds: 86_400, overlapSeconds: 60 })
      .describe('Signing key rotation.'),
  })
    .optional()
    .describe(
      'Short-lived device tokens: `POST {path}` exchanges credentials for a JWT (the MQTT password), `GET {jwksPath}` publishes the keys. Off unless configured.',
    ),
  admin: strictObject({
    listen: strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: port.default(9443),
      tls: strictObject({ cert: path, key: path, ca: path.optional() }).optional(),
    }),
    mtlsSubjects: z
      .record(
        z.string().regex(/^[A-Za-z.0-9]+\s*=/, 'write a subject like "CN=ops-admin, O=Example"'),
        z.array(z.enum(['read', 'write', 'policy'])).min(1, 'list the scopes: read, write, policy'),
      )
      .optional()
      .describe(
        'The admin API (/admin/v1, docs/admin-api.md) on a listener of its own; served only when `store` is configured too. `mtlsSubjects` maps a client certificate subject (issued by `listen.tls.ca`) to admin scopes.',
      ),
    /** Largest JSON body (a policy document) and largest streamed device import, in bytes. */
    limits: strictObject({
      bodyBytes: z
        .int()
        .positive()
        .default(2 * 1024 * 1024),
      importBytes: z
        .int()
        .positive()
        .default(256 * 1024 * 1024),
    }).default({ bodyBytes: 2 * 1024 * 1024, importBytes: 256 * 1024 * 1024 }),
  })
    .refine((admin) => admin.mtlsSubjects === undefined || admin.listen.tls?.ca !== undefined, {
      error: 'mtlsSubjects needs listen.tls with a ca: the CA whose client certificates are trusted',
    })
    .optional()
    .describe(
      'The admin API (/admin/v1, docs/admin-api.md) on a listener of its own; served only when `store` is configured too. `mtlsSubjects` maps a client certificate subject (issued by `listen.tls.ca`) to admin scopes.',
    ),
  /**
   * Prometheus metrics; not served unless configured. `listen`: a separate plain-HTTP listener (which
   * also answers /healthz and /readyz); `bearerToken`: required as `Authorization: Bearer` (on the main
   * listener, or on the separate one when both are given).
   */
  metrics: strictObject({
    path: z
      .string()
      .regex(/^\//, 'a path starts with "/"')
      .default('/metrics')
      .describe('Path of the metrics.'),
    listen: strictObject({ host: z.string().min(1).default('127.0.0.1'), port })
      .optional()
      .describe('A separate plain-HTTP listener for metrics, which also answers /healthz and /readyz.'),
    bearerToken: secretSchema
      .optional()
      .describe(
        'Required as `Authorization: Bearer TOKEN` (on the main listener, or on the separate one when both are given).',
      ),
  })
    .refine((m) => m.listen !== undefined || m.bearerToken !== undefined, {
      error:
        'choose where metrics are served: listen: { port: 9464 } (a separate listener) or bearerToken: { env: NAME } (the main listener, behind a token)',
    })
    .optional()
    .describe(
      'Prometheus metrics (text format); not served unless configured with `listen`, `bearerToken` or both.',
    ),
  cache: strictObject({
    decisions: z
      .union([
        z.literal(false),
        strictObject({
          max: z
            .int()
            .positive()
            .max(10_000_000, 'keep the decision cache at most 10000000 entries; maxBytes bounds it too')
            .optional()
            .describe(
              'Bound in entries. Default 100000; at most 10000000 (the table of principal contents is sized by it up front, and each decision costs 64 bytes or more of maxBytes anyway).',
            ),
          ttlMs: z.int().positive().optional().describe('How long a decision is reused.'),
          maxBytes: z
            .int()
            .min(65_536, 'give the decision cache at least 65536 bytes')
            .optional()
            .describe(
              'Bounds the cached decisions with their topic strings, and separately the principal contents. Default 16 MiB each.',
            ),
          maxTopicLength: z
            .int()
            .min(0)
            .max(65_535)
            .optional()
            .describe('Longer topics are decided without the cache. Default 1024.'),
        }),
      ])
      .optional()
      .describe('Authorization decision cache; `false` turns it off.'),
    principals: strictObject({
      maxBytes: z.int().min(65_536).optional().describe('Bound in (estimated) bytes. Default 128 MiB.'),
      max: z.int().positive().optional().describe('Optional bound in entries.'),
      ttlMs: z
        .int()
        .positive()
        .optional()
        .describe(
          "Forgotten after this long unused (sliding), never kept past the credential's expiry. Default 24 h.",
        ),
    })
      .optional()
      .describe('Sessions remembered from successful logins, for later authorization requests.'),
  })
    .default({})
    .describe('In-memory caches, each bounded in bytes.'),
  sessions: strictObject({
    ticket: z
      .union([
        z.literal(false),
        strictObject({
          key: secretSchema
            .optional()
            .describe(
              'HMAC key of the tickets. Without it, a random one per process: tickets then survive neither a restart nor another replica.',
            ),
          attribute: z
            .string()
            .regex(/^[A-Za-z0-9]+[A-Za-z0-9_-]*$/, 'an EMQX client attribute name: letters, digits, - and _')
            .default('warden_session')
            .describe('The EMQX client attribute that carries the ticket.'),
          maxBytes: z.int().min(256).max(8192).default(2048).describe('Largest ticket.'),
        }),
      ])
      .default({ attribute: 'warden_session', maxBytes: 2048 })
      .describe("Signed session tickets in the EMQX authn reply's `client_attrs`; `false` turns them off."),
  })
    .default({ ticket: { attribute: 'warden_session', maxBytes: 2048 } })
    .describe('How a forgotten session (restart, eviction, another replica) is rebuilt.'),
  /** Brute-force lockout, rate limits and connect-storm control; on by default (docs/protection.md). */
  defenses: DefensesSchema.describe(
    'Brute-force lockout, rate limits and connect-storm control; on by default (docs/protection.md).',
  ),
  /** The audit trail and alert rules; without it, denials and alerts go to the server log. */
  audit: AuditConfigSchema.describe(
    'The audit trail and alert rules (docs/audit-and-alerts.md); without it, refusals and alerts go to the server log.',
  ),
  /**
   * The device registry (PostgreSQL). `encryptionKey` (32 random bytes, base64) seals PSK keys, SAS keys
   * and private signing keys; after a rotation the old keys go in `previousEncryptionKeys` until
   * `mqtt-warden store rotate-key` re-encrypted everything. See docs/registry.md.
   */
  store: strictObject({
    postgres: strictObject({
      url: secretSchema,
      schema: z
        .string()
        .regex(/^[a-z_][a-z0-9_]{0,47}$/, 'a schema is lower-case letters, digits and "_" (at most 48)')
        .optional()
        .describe(
          'The device registry on PostgreSQL (docs/registry.md, docs/replicas.md): devices, credentials, policy versions and sessions shared by every replica. `encryptionKey` (32 random bytes, base64) seals PSK keys, SAS keys and private signing keys.',
        ),
      poolSize: z.int().min(1).max(100).optional(),
      statementTimeoutMs: z.int().min(100).max(600_000).optional(),
      migrateOnStart: z.boolean().default(false),
    }),
    encryptionKey: secretSchema.optional(),
    previousEncryptionKeys: z.array(secretSchema).optional(),
    /**
     * While the store is unreachable, devices verified in the last this many seconds keep logging in
     * (against the credentials then read). Default 0: off, every new login answers "unavailable".
     * See docs/replicas.md.
     */
    graceSeconds: z.int().min(0).max(3600).default(0),
  })
    .refine((store) => store.encryptionKey !== undefined || store.previousEncryptionKeys === undefined, {
      error: 'previousEncryptionKeys only decrypt: set encryptionKey too (the key that encrypts)',
    })
    .optional()
    .describe(
      'The device registry on PostgreSQL (docs/registry.md, docs/replicas.md): devices, credentials, policy versions and sessions shared by every replica. `encryptionKey` (32 random bytes, base64) seals PSK keys, SAS keys and private signing keys.',
    ),
  connectors: strictObject({
    rabbitmq: strictObject({
      url: httpUrl,
      /** A management user tagged `administrator` (it closes other users' connections). */
      username: z.string().min(1),
      password: secretSchema,
    })
      .optional()
      .describe("RabbitMQ management API: closes a revoked device's connections."),
    emqx: strictObject({
      url: httpUrl,
      apiKey: z.string().min(1),
      apiSecret: secretSchema,
    })
      .optional()
      .describe('EMQX REST API: kicks a revoked device and cleans its authorization cache.'),
  })
    .optional()
    .describe(
      'Management APIs told about registry revocations so brokers drop revoked clients (needs `store:`; docs/connectors.md).',
    ),
  adapters: strictObject({
    emqx: strictObject({
      enabled: z.boolean().default(true).describe('Serve the EMQX routes.'),
      paths: strictObject({
        authn: route.optional().describe('Default /emqx/authn.'),
        authz: route.optional().describe('Default /emqx/authz.'),
      })
        .optional()
        .describe('Route paths.'),
      unknownUser: z
        .enum(['deny', 'ignore'])
        .optional()
        .describe(
          'Answer for a client no authenticator knows. Default deny; ignore lets EMQX try its next authenticator or source.',
        ),
      onError: z.enum(['deny', 'ignore']).optional().describe('Answer when a check fails. Default deny.'),
      acl: z
        .enum(['none', 'deny', 'all'])
        .optional()
        .describe(
          "Which of a principal's own rules (token ACL claims) go into the authn reply's acl. Default deny (docs/emqx-acl.md).",
        ),
      fields: z
        .record(z.string(), z.string())
        .optional()
        .describe('Keys of a custom EMQX body template → placeholder names, e.g. { user: username }.'),
      sharedSecret: sharedSecret
        .optional()
        .describe('EMQX `headers { "x-mqtt-warden-secret" = "…" }` on the authn and authz sources.'),
    })
      .optional()
      .describe('EMQX 5 HTTP authentication and authorization (POST JSON/form or GET query).'),
    goAuth: strictObject({
      enabled: z.boolean().default(true).describe('Serve the mosquitto-go-auth routes.'),
      paths: strictObject({
        user: route.optional().describe('Default /mosquitto/user.'),
        superuser: route.optional().describe('Default /mosquitto/superuser.'),
        acl: route.optional().describe('Default /mosquitto/acl.'),
      })
        .optional()
        .describe('Route paths.'),
      responseMode: z
        .enum(['status', 'text', 'json'])
        .optional()
        .describe('Must match `auth_opt_http_response_mode`. Default status.'),
      deliveryChecked: z
        .boolean()
        .optional()
        .describe(
          'Mosquitto checks every delivery (READ): grant subscriptions that overlap a receive deny. `false`: refuse them. Default true.',
        ),
      sharedSecret: sharedSecret
        .optional()
        .describe('For go-auth forks with `auth_opt_http_header_<Name>`; upstream go-auth sends no headers.'),
    })
      .optional()
      .describe('mosquitto-go-auth HTTP backend.'),
    rabbitmq: strictObject({
      enabled: z.boolean().default(true).describe('Serve the RabbitMQ routes.'),
      paths: strictObject({
        user: route.optional().describe('Default /rabbitmq/user.'),
        vhost: route.optional().describe('Default /rabbitmq/vhost.'),
        resource: route.optional().describe('Default /rabbitmq/resource.'),
        topic: route.optional().describe('Default /rabbitmq/topic.'),
      })
        .optional()
        .describe('Route paths.'),
      vhosts: z
        .array(z.string())
        .min(1)
        .optional()
        .describe('Virtual hosts MQTT clients may use. Default ["/"].'),
      exchange: z
        .string()
        .min(1)
        .optional()
        .describe('The exchange rabbitmq_mqtt publishes to (`mqtt.exchange`). Default amq.topic.'),
      tags: z
        .record(z.string(), z.array(z.string().regex(/^[A-Za-z0-9_-]+$/, 'a tag is one word')))
        .optional()
        .describe('RabbitMQ user tags by policy role, e.g. { operator: [management] }.'),
    })
      .optional()
      .describe('RabbitMQ rabbitmq_auth_backend_http.'),
  })
    .default({})
    .describe(
      'The broker endpoints. Every adapter is served, with its defaults, unless it says `enabled: false`.',
    ),
});

type ParsedConfig = z.output<typeof ServerConfigSchema>;

/** A validated config with file paths resolved and every authenticator located in its file. */
export type ServerConfig = Omit<ParsedConfig, 'authenticators'> & {
  readonly authenticators: readonly AuthenticatorConfig[];
};

/**
 * Parses a server config (YAML or JSON) and resolves its file paths against `baseDir`.
 * Throws a located error (file:line:column for every mistake) when it is invalid.
 *
 * @example
 * ```ts
 * const config = parseServerConfig(await readFile('warden.yaml', 'utf8'), { file: 'warden.yaml' });
 * ```
 */
export function parseServerConfig(
  text: string,
  options: { file?: string; baseDir?: string } = {},
): ServerConfig {
  const { value, locate } = parseYaml(text, {
    schema: ServerConfigSchema,
    file: options.file,
    what: 'server config',
    code: 'ERR_CONFIG_INVALID',
  });
  const base = options.baseDir ?? (options.file ? dirname(options.file) : process.cwd());
  const at = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const where = (path: (string | number)[]) => {
    const position = locate(path);
    const file = options.file ?? 'config';
    return `${position ? `${file}:${position.line}:${position.column}` : file} (${path.join('.')})`;
  };
  locateSecrets(value, [], where);
  return {
    ...value,
    listen: value.listen.tls
      ? {
          ...value.listen,
          tls: {
            cert: at(value.listen.tls.cert),
            key: at(value.listen.tls.key),
            ca: value.listen.tls.ca === undefined ? undefined : at(value.listen.tls.ca),
          },
        }
      : value.listen,
    metrics: value.metrics && { ...value.metrics, bearerToken: value.metrics.bearerToken?.withPath(at) },
    admin: value.admin && {
      ...value.admin,
      listen: {
        ...value.admin.listen,
        tls: value.admin.listen.tls && {
          cert: at(value.admin.listen.tls.cert),
          key: at(value.admin.listen.tls.key),
          ca: value.admin.listen.tls.ca === undefined ? undefined : at(value.admin.listen.tls.ca),
        },
      },
    },
    adapters: {
      ...value.adapters,
      emqx: value.adapters.emqx && withSecretPath(value.adapters.emqx, at),
      goAuth: value.adapters.goAuth && withSecretPath(value.adapters.goAuth, at),
    },
    connectors: value.connectors && {
      rabbitmq: value.connectors.rabbitmq && {
        ...value.connectors.rabbitmq,
        password: value.connectors.rabbitmq.password.withPath(at),
      },
      emqx: value.connectors.emqx && {
        ...value.connectors.emqx,
        apiSecret: value.connectors.emqx.apiSecret.withPath(at),
      },
    },
    policy: { ...value.policy, file: at(value.policy.file) },
    defenses:
      value.defenses.store === 'memory'
        ? value.defenses
        : {
            ...value.defenses,
            store: {
              redis: { ...value.defenses.store.redis, url: value.defenses.store.redis.url.withPath(at) },
            },
          },
    store: value.store && {
      ...value.store,
      postgres: { ...value.store.postgres, url: value.store.postgres.url.withPath(at) },
      encryptionKey: value.store.encryptionKey?.withPath(at),
      previousEncryptionKeys: value.store.previousEncryptionKeys?.map((key) => key.withPath(at)),
    },
    sessions: {
      ticket:
        value.sessions.ticket && value.sessions.ticket.key !== undefined
          ? { ...value.sessions.ticket, key: value.sessions.ticket.key.withPath(at) }
          : value.sessions.ticket,
    },
    audit: {
      ...value.audit,
      sinks: value.audit.sinks.map((sink) => ({
        ...sink,
        file: sink.file && { ...sink.file, path: at(sink.file.path) },
        syslog: sink.syslog && {
          ...sink.syslog,
          ca: sink.syslog.ca === undefined ? undefined : at(sink.syslog.ca),
        },
        postgres: sink.postgres && { ...sink.postgres, url: sink.postgres.url.withPath(at) },
        webhook: sink.webhook && {
          ...sink.webhook,
          headers:
            sink.webhook.headers &&
            Object.fromEntries(
              Object.entries(sink.webhook.headers).map(([name, v]) => [name, v.withPath(at)]),
            ),
        },
      })),
    },
    authenticators: value.authenticators.map((block, index) =>
      resolveAuthenticatorPaths({ ...block, where: where(['authenticators', index]) }, at),
    ),
  };
}

/** An adapter block whose shared secret file (if any) is resolved against the config directory. */
function withSecretPath<T extends { sharedSecret?: { header: string; value: Secret } }>(
  adapter: T,
  at: (path: string) => string,
): T {
  const secret = adapter.sharedSecret;
  return secret ? { ...adapter, sharedSecret: { ...secret, value: secret.value.withPath(at) } } : adapter;
}

/** Tells each secret where it was written, so errors about it (unset variable, missing file) point there. */
function locateSecrets(
  value: unknown,
  path: (string | number)[],
  where: (path: (string | number)[]) => string,
): void {
  if (value instanceof Secret) {
    value.where = where(path);
  } else if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) locateSecrets(item, [...path, index], where);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) locateSecrets(item, [...path, key], where);
  }
}

/** Reads and parses a config file. */
export async function loadServerConfig(file: string): Promise<ServerConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new FileReadError(file, 'config', error);
  }
  return parseServerConfig(text, { file });
}

import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { FileReadError } from '@mqtt-warden/core';
import { parseYaml, strictObject } from '@mqtt-warden/policy';
import { z } from 'zod';
import {
  type AuthenticatorConfig,
  AuthenticatorSchema,
  resolveAuthenticatorPaths,
} from './authenticator-config.js';
import { Secret, secretSchema } from './secret.js';
import { parseSourceRange } from './source-allowlist.js';

const path = z.string().min(1, 'write a file path (relative paths are read from the config file directory)');
const route = z.union([z.string().regex(/^\//, 'a path starts with "/"'), z.literal(false)]);
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
/** A header the broker sends with a secret value on every request to an adapter; compared in constant time. */
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
});

export const ServerConfigSchema = strictObject({
  listen: strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    port: port.default(8080),
    /** HTTPS: PEM files. With `ca`, every client (the broker) must present a certificate issued by it. */
    tls: strictObject({ cert: path, key: path, ca: path.optional() }).optional(),
    /** Source addresses (IPs, CIDR ranges) that may use the listener; others get a 403 before any work. */
    allow: z
      .array(
        z.string().refine((entry) => parseSourceRange(entry) !== undefined, {
          error: 'write an IP address or a CIDR range, e.g. 10.0.0.0/8, 127.0.0.1 or fd00::/8',
        }),
      )
      .min(1, 'list at least one address or range, or leave allow out to accept every address')
      .optional(),
  }).default({ host: '127.0.0.1', port: 8080 }),
  log: strictObject({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  }).default({ level: 'info' }),
  limits: strictObject({
    /** Largest request body; brokers send a few hundred bytes. */
    bodyBytes: z.int().positive().default(16_384),
    /** Whole-request timeout. */
    requestTimeoutMs: z.int().positive().default(10_000),
    keepAliveTimeoutMs: z.int().positive().default(65_000),
  }).default({ bodyBytes: 16_384, requestTimeoutMs: 10_000, keepAliveTimeoutMs: 65_000 }),
  policy: strictObject({ file: path, watch: z.boolean().default(true) }),
  /** Tried in order; the first that does not ignore the credentials decides. */
  authenticators: z.array(AuthenticatorSchema).min(1, 'list at least one authenticator'),
  /** Short-lived device tokens: `POST {path}` exchanges credentials for a JWT, `GET {jwksPath}` publishes the keys. */
  deviceTokens: strictObject({
    enabled: z.boolean().default(false),
    path: z.string().regex(/^\//, 'a path starts with "/"').default('/token'),
    jwksPath: z.string().regex(/^\//, 'a path starts with "/"').default('/.well-known/jwks.json'),
    /** `iss` of the tokens. */
    issuer: z.string().min(1).default('mqtt-warden'),
    /** `aud` of the tokens. */
    audience: z.string().min(1).default('mqtt'),
    lifetimeSeconds: z.int().min(10).max(86_400).default(600),
    algorithm: z.enum(['ES256', 'ES384', 'ES512', 'EdDSA', 'RS256', 'PS256']).default('ES256'),
    rotation: strictObject({
      /** Sign with a new key once the current one is this old. */
      afterSeconds: z.int().positive().default(86_400),
      /** Keep a retired key published this long after its last token expired. */
      overlapSeconds: z.int().min(0).default(60),
    }).default({ afterSeconds: 86_400, overlapSeconds: 60 }),
  }).optional(),
  /**
   * Prometheus metrics; not served unless configured. `listen`: a separate plain-HTTP listener (which
   * also answers /healthz and /readyz); `bearerToken`: required as `Authorization: Bearer` (on the main
   * listener, or on the separate one when both are given).
   */
  metrics: strictObject({
    path: z.string().regex(/^\//, 'a path starts with "/"').default('/metrics'),
    listen: strictObject({ host: z.string().min(1).default('127.0.0.1'), port }).optional(),
    bearerToken: secretSchema.optional(),
  })
    .refine((m) => m.listen !== undefined || m.bearerToken !== undefined, {
      error:
        'choose where metrics are served: listen: { port: 9464 } (a separate listener) or bearerToken: { env: NAME } (the main listener, behind a token)',
    })
    .optional(),
  cache: strictObject({
    /**
     * Authorization decision cache (guard). `maxBytes` bounds the topic strings its key table keeps, and
     * separately the principal contents (default 16 MiB each); a topic longer than `maxTopicLength`
     * characters (default 1,024) is decided without the cache.
     */
    decisions: z
      .union([
        z.literal(false),
        strictObject({
          max: z.int().positive().optional(),
          ttlMs: z.int().positive().optional(),
          maxBytes: z.int().min(65_536, 'give the key tables at least 65536 bytes').optional(),
          maxTopicLength: z.int().min(0).max(65_535).optional(),
        }),
      ])
      .optional(),
    /** Sessions remembered from successful logins, for later authorization requests. */
    principals: strictObject({
      /** Bound in (estimated) bytes. Default 128 MiB. */
      maxBytes: z.int().min(65_536).optional(),
      /** Optional bound in entries. */
      max: z.int().positive().optional(),
      /** Forgotten after this long unused (sliding), never kept past the credential's expiry. Default 24 h. */
      ttlMs: z.int().positive().optional(),
    }).optional(),
  }).default({}),
  /** How a forgotten session (restart, eviction, another replica) is rebuilt; see the README. */
  sessions: strictObject({
    /**
     * Signed session tickets in the EMQX authn reply's `client_attrs`; `false` turns them off. Without a
     * `key`, a random one per process: tickets then survive neither a restart nor another replica.
     */
    ticket: z
      .union([
        z.literal(false),
        strictObject({
          key: secretSchema.optional(),
          attribute: z
            .string()
            .regex(/^[A-Za-z0-9]+[A-Za-z0-9_-]*$/, 'an EMQX client attribute name: letters, digits, - and _')
            .default('warden_session'),
          maxBytes: z.int().min(256).max(8192).default(2048),
        }),
      ])
      .default({ attribute: 'warden_session', maxBytes: 2048 }),
  }).default({ ticket: { attribute: 'warden_session', maxBytes: 2048 } }),
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
        .optional(),
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
    .optional(),
  /** Management APIs told about registry revocations (needs `store:`); see docs/connectors.md. */
  connectors: strictObject({
    rabbitmq: strictObject({
      url: httpUrl,
      /** A management user tagged `administrator` (it closes other users' connections). */
      username: z.string().min(1),
      password: secretSchema,
    }).optional(),
    emqx: strictObject({
      url: httpUrl,
      apiKey: z.string().min(1),
      apiSecret: secretSchema,
    }).optional(),
  }).optional(),
  adapters: strictObject({
    emqx: strictObject({
      enabled: z.boolean().default(true),
      paths: strictObject({ authn: route.optional(), authz: route.optional() }).optional(),
      unknownUser: z.enum(['deny', 'ignore']).optional(),
      onError: z.enum(['deny', 'ignore']).optional(),
      acl: z.enum(['none', 'deny', 'all']).optional(),
      fields: z.record(z.string(), z.string()).optional(),
      /** EMQX `headers { "x-mqtt-warden-secret" = "…" }` on the authn and authz sources. */
      sharedSecret: sharedSecret.optional(),
    }).optional(),
    goAuth: strictObject({
      enabled: z.boolean().default(true),
      paths: strictObject({
        user: route.optional(),
        superuser: route.optional(),
        acl: route.optional(),
      }).optional(),
      responseMode: z.enum(['status', 'text', 'json']).optional(),
      /** Mosquitto checks every delivery (READ): grant subscriptions that overlap a receive deny. `false`: refuse them. */
      deliveryChecked: z.boolean().optional(),
      /** go-auth forks with `auth_opt_http_header_<Name>` (lhns/mosquitto-go-auth); upstream sends no headers. */
      sharedSecret: sharedSecret.optional(),
    }).optional(),
    rabbitmq: strictObject({
      enabled: z.boolean().default(true),
      paths: strictObject({
        user: route.optional(),
        vhost: route.optional(),
        resource: route.optional(),
        topic: route.optional(),
      }).optional(),
      vhosts: z.array(z.string()).min(1).optional(),
      exchange: z.string().min(1).optional(),
      /** RabbitMQ user tags by policy role, e.g. `{ operator: [management] }`. */
      tags: z
        .record(z.string(), z.array(z.string().regex(/^[A-Za-z0-9_-]+$/, 'a tag is one word')))
        .optional(),
    }).optional(),
  }).default({}),
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

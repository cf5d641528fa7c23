import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError } from '@mqtt-warden/core';
import { parseYaml, strictObject } from '@mqtt-warden/policy';
import { z } from 'zod';
import {
  type AuthenticatorConfig,
  AuthenticatorSchema,
  resolveAuthenticatorPaths,
} from './authenticator-config.js';
import { Secret } from './secret.js';

const path = z.string().min(1, 'write a file path (relative paths are read from the config file directory)');
const route = z.union([z.string().regex(/^\//, 'a path starts with "/"'), z.literal(false)]);
const cache = z.union([
  z.literal(false),
  strictObject({ max: z.int().positive().optional(), ttlMs: z.int().positive().optional() }),
]);

export const ServerConfigSchema = strictObject({
  listen: strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.int().min(0).max(65_535).default(8080),
    /** HTTPS: PEM files. */
    tls: strictObject({ cert: path, key: path, ca: path.optional() }).optional(),
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
  cache: strictObject({
    /** Authorization decision cache (guard). */
    decisions: cache.optional(),
    /** Principals remembered from successful logins, for later authorization requests. */
    principals: strictObject({
      max: z.int().positive().optional(),
      ttlMs: z.int().positive().optional(),
    }).optional(),
  }).default({}),
  adapters: strictObject({
    emqx: strictObject({
      enabled: z.boolean().default(true),
      paths: strictObject({ authn: route.optional(), authz: route.optional() }).optional(),
      unknownUser: z.enum(['deny', 'ignore']).optional(),
      onError: z.enum(['deny', 'ignore']).optional(),
      acl: z.enum(['none', 'deny', 'all']).optional(),
      fields: z.record(z.string(), z.string()).optional(),
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
  locateSecrets(value.authenticators, ['authenticators'], where);
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
    policy: { ...value.policy, file: at(value.policy.file) },
    authenticators: value.authenticators.map((block, index) =>
      resolveAuthenticatorPaths({ ...block, where: where(['authenticators', index]) }, at),
    ),
  };
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
    throw new ConfigError(`cannot read the config file ${file} (${(error as NodeJS.ErrnoException).code})`);
  }
  return parseServerConfig(text, { file });
}

import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError } from '@mqtt-warden/core';
import { parseYaml, strictObject } from '@mqtt-warden/policy';
import { z } from 'zod';

const path = z.string().min(1, 'write a file path (relative paths are read from the config file directory)');
const route = z.union([z.string().regex(/^\//, 'a path starts with "/"'), z.literal(false)]);
const cache = z.union([
  z.literal(false),
  strictObject({ max: z.int().positive().optional(), ttlMs: z.int().positive().optional() }),
]);

const PasswordAuthenticator = strictObject({
  type: z.literal('password'),
  /** Users file (`.yaml`/`.json`) or a Mosquitto password_file. */
  file: path,
  unknownUser: z.enum(['deny', 'ignore']).optional(),
  cache: cache.optional(),
});

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
  authenticators: z
    .array(z.discriminatedUnion('type', [PasswordAuthenticator]))
    .min(1, 'list at least one authenticator'),
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
    }).optional(),
  }).default({}),
});

export type ServerConfig = z.output<typeof ServerConfigSchema>;

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
  const { value } = parseYaml(text, {
    schema: ServerConfigSchema,
    file: options.file,
    what: 'server config',
    code: 'ERR_CONFIG_INVALID',
  });
  const base = options.baseDir ?? (options.file ? dirname(options.file) : process.cwd());
  const at = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
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
    authenticators: value.authenticators.map((a) => ({ ...a, file: at(a.file) })),
  };
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

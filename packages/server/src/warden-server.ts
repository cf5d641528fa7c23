import { randomBytes } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type RequestListener } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { basename, dirname } from 'node:path';
import { type AuditTrail, createAuditTrail } from '@mqtt-warden/audit';
import type { Authenticator, Guard, Principal, PrincipalQuery, PrincipalResolver } from '@mqtt-warden/core';
import { ConfigError, createGuard, errorCode, WardenError } from '@mqtt-warden/core';
import { createDefenses, type DefenseEvent, type Defenses } from '@mqtt-warden/defenses';
import {
  createEmqxCore,
  type EmqxCore,
  type EmqxPluginOptions,
  emqxFormInput,
  emqxJsonKeys,
  emqxPlugin,
} from '@mqtt-warden/emqx';
import {
  createGoAuthCore,
  GO_AUTH_JSON_KEYS,
  type GoAuthCore,
  type GoAuthPluginOptions,
  goAuthFormInput,
  goAuthPlugin,
} from '@mqtt-warden/go-auth';
import { createDeviceTokenIssuer } from '@mqtt-warden/jwt';
import { hashPassword } from '@mqtt-warden/password';
import { type PolicyWatcher, watchPolicy } from '@mqtt-warden/policy';
import {
  createRabbitMqCore,
  type RabbitMqCore,
  type RabbitMqPluginOptions,
  rabbitMqPlugin,
} from '@mqtt-warden/rabbitmq';
import type { RegistryStore } from '@mqtt-warden/registry';
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import { Registry } from 'prom-client';
import { followActivePolicy } from './active-policy.js';
import { createAuditSinks } from './audit-sinks.js';
import { buildChainLink, type ChainLink, type ChainRegistry } from './authenticator-chain.js';
import { startBrokerConnectors } from './broker-connectors.js';
import { defenseAuditEvent } from './defense-audit-event.js';
import { createDeviceTokenAuthenticator } from './device-token-authenticator.js';
import { deviceTokenRoutes } from './device-token-routes.js';
import { errorReply } from './error-reply.js';
import { type LeanLog, type LeanRoute, leanRouter } from './lean-router.js';
import { exposure, listenerAccess, type RequiredSecret } from './listener-access.js';
import { openRegistry } from './open-registry.js';
import { operationsRoutes } from './operations-routes.js';
import { PrincipalDirectory } from './principal-directory.js';
import { RegistryCredentials } from './registry-credentials.js';
import { type RegistryWiring, registrySessions, wireRegistry } from './registry-wiring.js';
import { revealDefenses } from './reveal-defenses.js';
import { secretMatcher } from './secret-matcher.js';
import type { ServerConfig } from './server-config.js';
import { createServerMetrics } from './server-metrics.js';
import { SessionTickets } from './session-tickets.js';
import { sourceAllowlist } from './source-allowlist.js';
import { tokenSubjectCheck } from './token-subject-check.js';

export interface WardenServer {
  readonly app: FastifyInstance;
  readonly guard: Guard;
  readonly directory: PrincipalDirectory;
  /** Lockout, rate limits and storm control in front of the guard (`defenses` block). */
  readonly defenses: Defenses;
  /** The audit trail; the defenses report lockouts and rate limits with `audit.record(event)`. */
  readonly audit: AuditTrail;
  /** The separate metrics listener (`metrics.listen`), if configured. */
  readonly operations: FastifyInstance | undefined;
  /** Starts listening (and the metrics listener); resolves to the base URL of the main listener. */
  listen(): Promise<string>;
  /** Re-reads the policy and the credential files (SIGHUP). Keeps the old ones when a file is invalid. */
  reload(): Promise<void>;
  /** Stops accepting requests, answers those in flight, closes watchers. */
  close(): Promise<void>;
}

export interface WardenServerOptions {
  /** Where pino writes (tests capture it). Default stdout. */
  readonly logStream?: NodeJS.WritableStream;
  /** Receives every lock placed and every attempt or request a defense refused (for an audit trail). */
  readonly onDefenseEvent?: (event: DefenseEvent) => void;
  /**
   * The device registry to serve devices, sessions and signing keys from (tests pass a memory one); the
   * caller closes it. Default: the config's `store:`, opened and closed by the server.
   */
  readonly registry?: RegistryStore;
}

/** Request fields that may hold secrets; pino replaces them with "[redacted]". */
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.body',
  'body',
  'password',
  '*.password',
  'token',
  '*.token',
];

/**
 * Builds the HTTP auth server from a config: guard (authenticator chain, policy, caches), the EMQX,
 * go-auth and RabbitMQ endpoints, the device token endpoint and its JWKS when enabled, health,
 * readiness and Prometheus metrics, file watching.
 *
 * @example
 * ```ts
 * const server = await createWardenServer(await loadServerConfig('warden.yaml'));
 * console.log(`listening on ${await server.listen()}`);
 * process.on('SIGHUP', () => void server.reload());
 * ```
 */
export async function createWardenServer(
  config: ServerConfig,
  options: WardenServerOptions = {},
): Promise<WardenServer> {
  if (config.connectors && !config.store && !options.registry) {
    throw new ConfigError("connectors: need store: (the registry's change feed tells them what to close)");
  }
  const tls = config.listen.tls;
  const https = tls
    ? {
        cert: await readFile(tls.cert),
        key: await readFile(tls.key),
        // With a CA the listener authenticates its caller: no certificate from that CA, no TLS session.
        ...(tls.ca ? { ca: await readFile(tls.ca), requestCert: true, rejectUnauthorized: true } : {}),
      }
    : null;
  const sharedSecrets = new Map<string, RequiredSecret>();
  for (const [adapter, where, block] of [
    ['emqx', 'adapters.emqx.sharedSecret', config.adapters.emqx?.sharedSecret],
    ['go-auth', 'adapters.goAuth.sharedSecret', config.adapters.goAuth?.sharedSecret],
  ] as const) {
    if (block) {
      sharedSecrets.set(adapter, {
        header: block.header,
        matches: secretMatcher(await block.value.reveal()),
        where,
      });
    }
  }
  const metricsToken = config.metrics?.bearerToken
    ? secretMatcher(await config.metrics.bearerToken.reveal())
    : undefined;
  const fastifyOptions: FastifyServerOptions = {
    logger: {
      level: config.log.level,
      redact: { paths: REDACT, censor: '[redacted]' },
      ...(options.logStream ? { stream: options.logStream } : {}),
      serializers: {
        // The query string of a GET authn request carries the password: log the path only.
        req: (req: { method: string; url: string; ip?: string }) => ({
          method: req.method,
          url: req.url.split('?')[0],
          remoteAddress: req.ip,
        }),
      },
    },
    logController: new LogController({ disableRequestLogging: !config.log.requests }),
    bodyLimit: config.limits.bodyBytes,
    requestTimeout: config.limits.requestTimeoutMs,
    keepAliveTimeout: config.limits.keepAliveTimeoutMs,
    connectionTimeout: config.limits.requestTimeoutMs,
    return503OnClosing: true,
  };
  // The lean path answers the broker hot paths before Fastify; until it is built, all goes to Fastify.
  let fastifyHandler: RequestListener = () => {};
  const serverFactory = (fastifyHandle: RequestListener) => {
    fastifyHandler = fastifyHandle;
    const server = https ? createHttpsServer(https, fastifyHandle) : createHttpServer(fastifyHandle);
    // What Fastify sets on a server it creates itself. Each bounds a connection nothing else closes in
    // time (connection-bounds.test.ts): requestTimeout a request not received (node checks every 30 s),
    // setTimeout an inactive socket (nothing sent, a stalled body, answers the client does not read),
    // keepAliveTimeout the wait for the next request.
    server.keepAliveTimeout = config.limits.keepAliveTimeoutMs;
    server.requestTimeout = config.limits.requestTimeoutMs;
    server.setTimeout(config.limits.requestTimeoutMs);
    return server;
  };
  // Fastify's types pick the server kind from the literal options; both kinds serve the same routes.
  const app = Fastify({
    ...fastifyOptions,
    ...(https ? { https } : {}),
    serverFactory,
  } as FastifyServerOptions);
  const log = app.log;

  // Before anything that must be closed on failure.
  const auditSinks = await createAuditSinks(config.audit, log);
  const tickets = await sessionTickets(config.sessions.ticket, log);
  const policy: PolicyWatcher = await watchPolicy(config.policy.file, {
    onReload: () => log.info({ file: config.policy.file }, 'policy reloaded'),
    onError: (error) =>
      log.error({ file: config.policy.file, err: error }, 'policy not reloaded; keeping the previous one'),
  });
  if (!config.policy.watch) policy.close();

  // An injected registry is the caller's to close; one opened from the config is ours.
  const opened = options.registry ? undefined : await openRegistry(config, { log });
  const registry = options.registry ?? opened;
  const credentials =
    registry &&
    new RegistryCredentials({
      store: registry,
      graceMs: (config.store?.graceSeconds ?? 0) * 1000,
      logger: log,
    });
  const chainRegistry: ChainRegistry | undefined = credentials && {
    credentials,
    // New registry passwords are argon2id with the defaults: unknown names cost at least as much.
    sampleHash: await hashPassword(randomBytes(16)),
  };
  const links: ChainLink[] = [];
  try {
    for (const block of config.authenticators) links.push(await buildChainLink(block, log, chainRegistry));
  } catch (error) {
    for (const link of links) link.close();
    policy.close();
    await credentials?.close();
    await opened?.close();
    throw error;
  }
  // With a registry, its active policy version is enforced over the file's (docs/connectors.md).
  const activePolicy = registry && (await followActivePolicy({ store: registry, policy, log }));
  const authenticators: Authenticator[] = links.map((link) => link.authenticator);
  const tokens = config.deviceTokens?.enabled ? config.deviceTokens : undefined;
  const issuer = tokens
    ? await createDeviceTokenIssuer({
        issuer: tokens.issuer,
        audience: tokens.audience,
        ttlSeconds: tokens.lifetimeSeconds,
        algorithm: tokens.algorithm,
        rotateAfterSeconds: tokens.rotation.afterSeconds,
        overlapSeconds: tokens.rotation.overlapSeconds,
        // Shared by every replica and kept across restarts; kids are thumbprints, so a race adds two keys, not a clash.
        ...(registry
          ? {
              keyStore: {
                list: () => registry.listSigningKeys(),
                add: (key) => registry.addSigningKey(key, { actor: 'server:device-tokens' }),
              },
            }
          : {}),
      })
    : undefined;
  if (tokens && issuer) {
    // First in the chain: it only claims tokens naming this issuer and ignores everything else.
    authenticators.unshift(
      createDeviceTokenAuthenticator({
        issuer,
        iss: tokens.issuer,
        audience: tokens.audience,
        algorithm: tokens.algorithm,
        subjectActive: tokenSubjectCheck(
          links.flatMap((link) => (link.store ? [link.store] : [])),
          credentials,
        ),
      }),
    );
  }

  const auditRegistry = new Registry();
  const audit = createAuditTrail({
    sinks: auditSinks,
    sampleAllows: config.audit.sampleAllows,
    queueBytes: config.audit.queueBytes,
    alerts: config.audit.alerts,
    registry: auditRegistry,
    onSinkError: (sink, error) => log.warn({ sink, code: errorCode(error) }, 'audit sink failed; retrying'),
  });
  const guard = createGuard({
    authenticators,
    authorizer: policy,
    cache: config.cache.decisions,
    logger: log,
    ...audit.guardHooks,
  });
  const defenses = await revealDefenses(config.defenses)
    .then((revealed) =>
      createDefenses(revealed, {
        logger: log,
        onEvent(event) {
          // Events come with requests, after the metrics below exist.
          metrics.defense(event);
          audit.record(defenseAuditEvent(event));
          options.onDefenseEvent?.(event);
        },
      }),
    )
    .catch((error: unknown) => {
      guard.close();
      for (const link of links) link.close();
      policy.close();
      throw error;
    });
  // Every adapter and the token endpoint authenticate through the defenses.
  const defended = defenses.protect(guard);
  const storeLink = links.find((link) => link.store);
  const directory = new PrincipalDirectory({
    store: storeLink?.store,
    storeAuthenticator: storeLink?.authenticator.name,
    // Then the username a broker reports names an identity one of them proved.
    provesUsernames: authenticators.every((authenticator) => authenticator.provesUsername === true),
    tickets,
    ticketAttribute: config.sessions.ticket ? config.sessions.ticket.attribute : undefined,
    maxBytes: config.cache.principals?.maxBytes,
    max: config.cache.principals?.max,
    ttlMs: config.cache.principals?.ttlMs,
    shared: registry && credentials && registrySessions(registry, credentials),
  });
  const wiring: RegistryWiring | undefined =
    registry &&
    credentials &&
    wireRegistry({
      store: registry,
      credentials,
      directory,
      clearDecisions: () => guard.clearCache(),
      refreshSigningKeys: issuer && (() => issuer.refresh()),
      logger: log,
    });
  /**
   * The guard as one adapter sees it: its audit events name the adapter, lockout and rate limits come
   * first, and every successful login is remembered (and shared through the registry) for that session's
   * later authorization requests.
   */
  const guardFor = (adapter: string): Guard => {
    const context = { adapter };
    return {
      ...defended,
      async authenticate(request) {
        const result = await defended.authenticate(request, context);
        if (result.ok) {
          try {
            await directory.remember(request, result.principal, result.authenticator);
          } catch (error) {
            // The session stays known here; other replicas refuse its requests until it logs in again.
            log.warn({ code: errorCode(error), clientId: request.clientId }, 'session not shared');
          }
        }
        return result;
      },
      authorize: (principal, request) => defended.authorize(principal, request, context),
    };
  };

  /** The session directory as one adapter sees it: a session it does not know is an audited refusal. */
  const resolverFor = (adapter: string): PrincipalResolver => {
    const audited = (query: PrincipalQuery, principal: Principal | undefined) => {
      if (principal === undefined) {
        audit.record({
          type: 'unknown-session',
          adapter,
          username: query.username,
          clientId: query.clientId,
          remoteAddress: query.remoteAddress,
        });
      }
      return principal;
    };
    return {
      resolve(query) {
        const found = directory.resolve(query);
        // A remembered session (nearly every request) needs no closure: one is built for a wait only.
        return found instanceof Promise
          ? found.then((principal) => audited(query, principal))
          : audited(query, found);
      },
      attributesFor: (request, principal) => directory.attributesFor(request, principal),
    };
  };

  const metrics = createServerMetrics(guard, defenses);
  const connectorFeed =
    registry && (await startBrokerConnectors(config.connectors, registry, log, metrics.registry));
  // After every metric is registered: merge copies what the registries hold now.
  const metricsRegistry = Registry.merge([metrics.registry, auditRegistry]);
  const adapterOf = new Map<string, string>();
  let closing = false;

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const { status, body } = errorReply(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    reply.code(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({
      error: 'ERR_NOT_FOUND',
      message: `no endpoint ${request.method} ${request.url.split('?')[0]}`,
    });
  });
  // Routes added while an adapter plugin registers belong to that adapter (paths are configurable).
  let mounting: string | undefined;
  app.addHook('onRoute', (route) => {
    if (mounting) adapterOf.set(route.url, mounting);
  });
  const exposed = exposure(config.listen);
  if (exposed) log.warn(exposed);
  const allowed = config.listen.allow ? sourceAllowlist(config.listen.allow) : undefined;
  listenerAccess(app, {
    allowed,
    secretFor:
      sharedSecrets.size > 0
        ? (url) => {
            const adapter = url === undefined ? undefined : adapterOf.get(url);
            return adapter === undefined ? undefined : sharedSecrets.get(adapter);
          }
        : undefined,
  });
  app.addHook('onResponse', async (request, reply) => {
    const url = request.routeOptions.url;
    const adapter = url === undefined ? undefined : adapterOf.get(url);
    if (adapter && url) metrics.latency(adapter, url, reply.elapsedTime / 1000);
  });

  const adapters = config.adapters;
  const hot = new Map<string, LeanRoute>();
  /** Serves an endpoint on the lean path too, unless it is left out (`false`). */
  const lean = (path: string | false, route: LeanRoute) => {
    if (path !== false) hot.set(path, route);
  };
  if (adapters.emqx?.enabled !== false) {
    const emqx: EmqxPluginOptions = {
      guard: guardFor('emqx'),
      resolver: resolverFor('emqx'),
      paths: adapters.emqx?.paths,
      unknownUser: adapters.emqx?.unknownUser,
      onError: adapters.emqx?.onError,
      acl: adapters.emqx?.acl,
      fields: adapters.emqx?.fields,
      onDecision: metrics.decisionsOf('emqx'),
    };
    mounting = 'emqx';
    await app.register(emqxPlugin, emqx);
    const core = createEmqxCore(emqx);
    app.addHook('preClose', async () => core.release());
    // EMQX sends JSON or, with that content type in its headers, a form.
    const jsonKeys = emqxJsonKeys(emqx.fields);
    const endpoint = (answer: EmqxCore['authz']): LeanRoute => ({
      adapter: 'emqx',
      json: (body, log) => answer({ body }, log),
      jsonKeys,
      form: async (body, log) => answer(emqxFormInput(body), log),
    });
    lean(emqx.paths?.authz ?? '/emqx/authz', endpoint(core.authz));
    lean(emqx.paths?.authn ?? '/emqx/authn', endpoint(core.authn));
  }
  if (adapters.goAuth?.enabled !== false) {
    const goAuth: GoAuthPluginOptions = {
      guard: guardFor('go-auth'),
      resolver: resolverFor('go-auth'),
      paths: adapters.goAuth?.paths,
      responseMode: adapters.goAuth?.responseMode,
      deliveryChecked: adapters.goAuth?.deliveryChecked,
      onDecision: metrics.decisionsOf('go-auth'),
    };
    mounting = 'go-auth';
    await app.register(goAuthPlugin, goAuth);
    const core = createGoAuthCore(goAuth);
    app.addHook('preClose', async () => core.release());
    // go-auth sends JSON, or a form in `http_params_mode form`.
    const endpoint = (answer: GoAuthCore['acl']): LeanRoute => ({
      adapter: 'go-auth',
      json: (body, log) => answer({ body }, log),
      jsonKeys: GO_AUTH_JSON_KEYS,
      form: (body, log) => answer(goAuthFormInput(body), log),
    });
    lean(goAuth.paths?.acl ?? '/mosquitto/acl', endpoint(core.acl));
    lean(goAuth.paths?.user ?? '/mosquitto/user', endpoint(core.user));
    lean(goAuth.paths?.superuser ?? '/mosquitto/superuser', endpoint(core.superuser));
  }
  if (adapters.rabbitmq?.enabled !== false) {
    const rabbitmq: RabbitMqPluginOptions = {
      guard: guardFor('rabbitmq'),
      resolver: resolverFor('rabbitmq'),
      paths: adapters.rabbitmq?.paths,
      vhosts: adapters.rabbitmq?.vhosts,
      exchange: adapters.rabbitmq?.exchange,
      tags: rabbitMqTags(adapters.rabbitmq?.tags, policy),
      onDecision: metrics.decisionsOf('rabbitmq'),
    };
    mounting = 'rabbitmq';
    await app.register(rabbitMqPlugin, rabbitmq);
    const core = createRabbitMqCore(rabbitmq);
    app.addHook('preClose', async () => core.release());
    // RabbitMQ sends forms only; the core reads their bytes.
    const endpoint = (answer: RabbitMqCore['topic']): LeanRoute => ({ adapter: 'rabbitmq', form: answer });
    lean(rabbitmq.paths?.topic ?? '/rabbitmq/topic', endpoint(core.topic));
    lean(rabbitmq.paths?.user ?? '/rabbitmq/user', endpoint(core.user));
    lean(rabbitmq.paths?.vhost ?? '/rabbitmq/vhost', endpoint(core.vhost));
    lean(rabbitmq.paths?.resource ?? '/rabbitmq/resource', endpoint(core.resource));
  }
  mounting = undefined;
  if (tokens && issuer) {
    const tokenContext = { adapter: 'token' };
    deviceTokenRoutes(app, {
      guard: { ...defended, authenticate: (request) => defended.authenticate(request, tokenContext) },
      issuer,
      path: tokens.path,
      jwksPath: tokens.jwksPath,
      onRequest: (result) => metrics.decision('device-token', 'token', result),
    });
  }

  const readiness = () => {
    if (closing) return { ready: false, body: { status: 'closing' } };
    if (wiring && !wiring.ready()) return { ready: false, body: { status: 'registry-unavailable' } };
    return { ready: true, body: { status: 'ready', policyRules: policy.current.ruleCount } };
  };
  const served = config.metrics && {
    path: config.metrics.path,
    registry: metricsRegistry,
    token: metricsToken,
  };
  operationsRoutes(app, { readiness, metrics: config.metrics?.listen ? undefined : served });
  const operationsListen = config.metrics?.listen;
  const operations = operationsListen
    ? Fastify({ logger: false, requestTimeout: config.limits.requestTimeoutMs, return503OnClosing: true })
    : undefined;
  if (operations) operationsRoutes(operations, { readiness, metrics: served });

  const watchers: FSWatcher[] = [];
  if (config.policy.watch) {
    for (const link of links) {
      for (const file of link.files) watchers.push(watchFile(file, () => reloadLink(link)));
    }
  }

  async function reloadLink(link: ChainLink) {
    try {
      await link.reload();
      log.info({ authenticator: link.authenticator.name, files: link.files }, 'credentials reloaded');
    } catch (error) {
      log.error(
        {
          authenticator: link.authenticator.name,
          files: link.files,
          code: errorCode(error),
          // WardenError messages never hold a secret; other errors are reported by code only.
          ...(error instanceof WardenError ? { reason: error.message } : {}),
        },
        'credentials not reloaded; keeping the previous ones',
      );
    }
  }

  await app.ready();
  const handle = leanRouter({
    routes: hot,
    fallback: fastifyHandler,
    bodyLimit: config.limits.bodyBytes,
    allowed,
    secrets: sharedSecrets,
    closing: () => closing,
    log: log as LeanLog,
    requestLines: config.log.requests,
    latencyOf: metrics.latencyOf,
  });
  // From now on the lean path is the server's request listener, in front of Fastify's.
  app.server.removeListener('request', fastifyHandler);
  app.server.on('request', handle);
  return {
    app,
    guard,
    directory,
    defenses,
    audit,
    operations,
    async listen() {
      if (operations && operationsListen) await operations.listen(operationsListen);
      return app.listen({ host: config.listen.host, port: config.listen.port });
    },
    async reload() {
      await policy.reload();
      for (const link of links) await reloadLink(link);
    },
    async close() {
      closing = true;
      for (const watcher of watchers) watcher.close();
      policy.close();
      guard.close();
      for (const link of links) link.close();
      activePolicy?.close();
      connectorFeed?.close();
      await wiring?.close();
      await operations?.close();
      await app.close();
      await defenses.close();
      await opened?.close();
      // After the last answer, so its record is written too.
      await audit.close();
    },
  };
}

/** The ticket signer of the config; a random key (with a warning) when none is configured. */
async function sessionTickets(
  ticket: ServerConfig['sessions']['ticket'],
  log: { warn(obj: object, msg?: string): void },
): Promise<SessionTickets | undefined> {
  if (ticket === false) return undefined;
  if (ticket.key === undefined) {
    log.warn(
      {},
      'sessions.ticket.key is not set: session tickets are signed with a random key, so after a restart, or on another replica, EMQX sessions that the server no longer remembers are refused',
    );
    return new SessionTickets({ key: SessionTickets.randomKey(), maxBytes: ticket.maxBytes });
  }
  const key = Buffer.from(await ticket.key.reveal(), 'utf8');
  if (key.byteLength < 32) {
    throw new ConfigError(`${ticket.key.where}: a session ticket key needs at least 32 bytes`);
  }
  return new SessionTickets({ key, maxBytes: ticket.maxBytes });
}

/** Watches a file's directory (editors replace files by renaming) and calls back after 100 ms of quiet. */
function watchFile(file: string, changed: () => void): FSWatcher {
  const name = basename(file);
  let timer: NodeJS.Timeout | undefined;
  return watch(dirname(file), { persistent: false }, (_event, entry) => {
    if (entry !== null && entry.toString() !== name) return;
    clearTimeout(timer);
    timer = setTimeout(changed, 100);
  });
}

/** RabbitMQ tags of a principal: the union of those configured for the roles the policy gives it. */
function rabbitMqTags(
  byRole: Readonly<Record<string, readonly string[]>> | undefined,
  policy: PolicyWatcher,
): ((principal: Principal) => readonly string[]) | undefined {
  if (!byRole) return undefined;
  return (principal) => [
    ...new Set(
      policy.current.rolesOf(principal).flatMap((role) => (Object.hasOwn(byRole, role) ? byRole[role]! : [])),
    ),
  ];
}

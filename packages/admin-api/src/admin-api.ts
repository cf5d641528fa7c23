import type { TLSSocket } from 'node:tls';
import { UnavailableError, WardenError } from '@mqtt-warden/core';
import { type AdminScope, RegistryError, type RegistryStore } from '@mqtt-warden/registry';
import type {
  FastifyError,
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  FastifyServerOptions,
} from 'fastify';
import { z } from 'zod';
import { AdminApiError } from './admin-api-error.js';
import {
  type AdminCaller,
  type AdminRoute,
  COMMON_ERRORS,
  fastifyPath,
  parseWith,
  route,
  writeContexts,
} from './admin-route.js';
import { verifyAdminToken } from './admin-token.js';
import { credentialRoutes } from './credential-routes.js';
import { deviceRoutes } from './device-routes.js';
import { ADMIN_PREFIX, openApiDocument } from './openapi.js';
import { policyRoutes } from './policy-routes.js';
import {
  policySimulator,
  type SimulatePolicy,
  type ValidatePolicy,
  validatePolicyText,
} from './policy-tools.js';
import { AuditQuerySchema, AuditRecordSchema, EmptySchema } from './schemas.js';
import { auditView } from './views.js';

export interface AdminApiOptions {
  readonly store: RegistryStore;
  /** Checks an uploaded policy; default: `@mqtt-warden/policy`'s parser, with line and column. */
  readonly validatePolicy?: ValidatePolicy;
  /** Decides and explains a simulated request; default: `Policy.explain` on the version's text. */
  readonly simulate?: SimulatePolicy;
  /**
   * Mutual TLS: the scopes of each client-certificate subject, written like `CN=ops-admin, O=Example`
   * (the certificate's order). Only certificates the listener's TLS `ca` verified count.
   */
  readonly mtlsSubjects?: Readonly<Record<string, readonly AdminScope[]>>;
  /** Largest JSON body (default 2 MiB: a policy document). */
  readonly bodyLimit?: number;
  /** Largest streamed import (default 256 MiB, about a million devices). */
  readonly importBytes?: number;
}

/** `O = Example, CN = a` and `O=Example,CN=a` and `O=Example\nCN=a` are one subject. */
export function normaliseSubject(subject: string): string {
  return subject
    .split(/\s*[,\n]\s*/)
    .filter((part) => part !== '')
    .map((part) => part.replace(/\s*=\s*/, '='))
    .join(', ');
}

const callers = new WeakMap<FastifyRequest, AdminCaller>();
/** The caller of a public route (the OpenAPI document) who sent no credentials. */
const PUBLIC_CALLER: AdminCaller = { actor: 'anonymous', scopes: new Set() };

const STORE_STATUS: Record<string, number> = {
  ERR_REGISTRY_NOT_FOUND: 404,
  ERR_REGISTRY_EXISTS: 409,
  ERR_REGISTRY_CONFLICT: 409,
};

function send(reply: FastifyReply, status: number, code: string, message: string, issues?: unknown) {
  return reply.code(status).send({ error: { code, message, ...(issues ? { issues } : {}) } });
}

/**
 * Options the Fastify instance hosting {@link adminApi} needs: ids of up to 128 characters in paths, and
 * the typed error body for URLs the router refuses before any route runs.
 */
export const ADMIN_SERVER_OPTIONS = {
  routerOptions: { maxParamLength: 256 },
  frameworkErrors(_error: FastifyError, _request: FastifyRequest, reply: FastifyReply) {
    send(reply, 400, 'ERR_INVALID_INPUT', 'the URL is malformed or has a path segment over 256 characters');
  },
} satisfies FastifyServerOptions;

/** Fastify's own request errors, as stable codes with fixed messages (its messages may quote the body). */
function requestError(error: FastifyError): [number, string, string] | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return [413, 'ERR_ADMIN_BODY_TOO_LARGE', 'the body is too large'];
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return [415, 'ERR_ADMIN_UNSUPPORTED_MEDIA_TYPE', 'send JSON (Content-Type: application/json)'];
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return [400, 'ERR_INVALID_INPUT', 'the Content-Length does not match the body'];
    default:
      return error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500
        ? [400, 'ERR_INVALID_INPUT', 'the body is not valid JSON']
        : undefined;
  }
}

/**
 * The admin REST API under `/admin/v1`: devices, credentials, policy versions and audit of a
 * {@link RegistryStore}, authenticated by admin tokens (`Authorization: Bearer mwa_…`) or client
 * certificates, with the OpenAPI 3.1 document at `/admin/v1/openapi.json`. Errors are
 * `{ error: { code, message } }`: 401 without valid credentials, 403 without the route's scope.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { adminApi } from '@mqtt-warden/admin-api';
 *
 * const app = Fastify();
 * await app.register(adminApi, { store });
 * await app.listen({ port: 8443 });
 * ```
 */
export const adminApi: FastifyPluginAsync<AdminApiOptions> = async (app, options) => {
  await app.register(
    async (scope) => {
      registerAdminRoutes(scope, options);
    },
    { prefix: ADMIN_PREFIX },
  );
};

function registerAdminRoutes(app: FastifyInstance, options: AdminApiOptions): void {
  const { store } = options;
  const subjects = new Map(
    Object.entries(options.mtlsSubjects ?? {}).map(([subject, scopes]) => [
      normaliseSubject(subject),
      scopes,
    ]),
  );
  const routes: AdminRoute[] = [
    ...deviceRoutes(store, { importBytes: options.importBytes ?? 256 * 1024 * 1024 }),
    ...credentialRoutes(store),
    ...policyRoutes(
      store,
      options.validatePolicy ?? validatePolicyText,
      options.simulate ?? policySimulator(),
    ),
    route<unknown, z.output<typeof AuditQuerySchema>>({
      method: 'GET',
      path: '/audit',
      scope: 'read',
      summary: 'The audit trail of writes, oldest first; pass the last id as `after` for the next page',
      query: AuditQuerySchema,
      responses: {
        200: { description: 'records', schema: z.object({ records: z.array(AuditRecordSchema) }) },
        ...COMMON_ERRORS,
      },
      async handler({ query }) {
        return { records: (await store.listAuditRecords(query)).map(auditView) };
      },
    }),
  ];
  let document: unknown;
  routes.push(
    route({
      method: 'GET',
      path: '/openapi.json',
      scope: 'public',
      summary: 'This OpenAPI 3.1 document',
      responses: { 200: { description: 'the document' } },
      async handler() {
        document ??= openApiDocument(routes);
        return document;
      },
    }),
  );

  // The import streams its body: these media types reach the handler unread (it bounds what it reads).
  app.addContentTypeParser(
    ['application/x-ndjson', 'application/jsonl', 'text/csv'],
    (_request, payload, done) => done(null, payload),
  );

  app.addHook('onRequest', async (request) => {
    const caller = await authenticate(request);
    if (caller) callers.set(request, caller);
  });

  async function authenticate(request: FastifyRequest): Promise<AdminCaller | undefined> {
    const header = request.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer ([\x21-\x7e]{1,200})$/i.exec(header);
      const token = match ? await verifyAdminToken(store, match[1]!) : undefined;
      if (!token) return undefined;
      return { actor: `token:${token.id}`, scopes: new Set(token.scopes) };
    }
    const socket = request.raw.socket as Partial<TLSSocket>;
    // Only a certificate the listener's CA verified counts; an unmapped subject is known but has no scopes.
    if (!socket.encrypted || !socket.authorized || subjects.size === 0) return undefined;
    const subject = socket.getPeerX509Certificate?.()?.subject;
    if (subject === undefined) return undefined;
    const name = normaliseSubject(subject);
    return { actor: `cert:${name}`, scopes: new Set(subjects.get(name) ?? []) };
  }

  for (const spec of routes) {
    app.route({
      method: spec.method,
      url: fastifyPath(spec.path),
      bodyLimit: options.bodyLimit ?? 2 * 1024 * 1024,
      // Before the body is read: an unauthenticated or unauthorised caller costs no parsing.
      onRequest: async (request) => {
        if (spec.scope === 'public') return;
        const caller = callers.get(request);
        if (!caller) {
          throw new AdminApiError(
            401,
            'ERR_ADMIN_UNAUTHENTICATED',
            'send Authorization: Bearer mwa_… (create one with "mqtt-warden admin token create") or a client certificate the admin listener maps to scopes',
          );
        }
        if (!caller.scopes.has(spec.scope)) {
          throw new AdminApiError(
            403,
            'ERR_ADMIN_FORBIDDEN',
            `${spec.method} ${ADMIN_PREFIX}${spec.path} needs the "${spec.scope}" scope, which ${caller.actor} lacks`,
          );
        }
      },
      handler: async (request, reply) => {
        const caller = callers.get(request) ?? PUBLIC_CALLER;
        const params = parseWith(spec.params, request.params, 'path');
        // A query parameter a route does not read is a mistake worth reporting (a typo in a filter).
        const query = parseWith(spec.query ?? EmptySchema, request.query, 'query');
        if (isStream(request.body) && !spec.stream) {
          throw new AdminApiError(
            415,
            'ERR_ADMIN_UNSUPPORTED_MEDIA_TYPE',
            'send JSON (Content-Type: application/json)',
          );
        }
        const body = spec.body
          ? parseWith(spec.body, request.body === undefined ? {} : request.body, 'body')
          : undefined;
        const context = writeContexts(request, spec, caller, params);
        const result = await spec.handler({ params, query, body, request, caller, context }, reply);
        return reply.sent ? reply : result;
      },
    });
  }

  app.setNotFoundHandler((request, reply) =>
    send(
      reply,
      404,
      'ERR_ADMIN_NOT_FOUND',
      `no route ${request.method} ${request.url.split('?')[0]}: see ${ADMIN_PREFIX}/openapi.json`,
    ),
  );

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof AdminApiError)
      return send(reply, error.status, error.code, error.message, error.issues);
    if (error instanceof RegistryError)
      return send(reply, STORE_STATUS[error.code] ?? 409, error.code, error.message);
    if (error instanceof UnavailableError) {
      return send(
        reply,
        503,
        error.code,
        'the registry is unavailable: retry later (with the same Idempotency-Key for a write)',
      );
    }
    const fastify = requestError(error);
    if (fastify) return send(reply, ...fastify);
    if (error instanceof WardenError && error.code === 'ERR_INVALID_INPUT') {
      return send(reply, 400, error.code, error.message);
    }
    request.log.error({ code: (error as { code?: unknown }).code, name: error.name }, 'admin request failed');
    return send(reply, 500, 'ERR_INTERNAL', 'internal error; the server log has the details');
  });
}

function isStream(body: unknown): boolean {
  return typeof (body as { pipe?: unknown } | null)?.pipe === 'function';
}

import { createHash } from 'node:crypto';
import type { AdminScope, WriteContext } from '@mqtt-warden/registry';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { AdminApiError, type AdminApiIssue } from './admin-api-error.js';
import { ErrorSchema, ID_ROUTE_PATTERN } from './schemas.js';

/** Who called: an admin token or a client certificate, with the scopes it grants. */
export interface AdminCaller {
  /** The token id or certificate subject, recorded as the actor of every write. */
  readonly actor: string;
  readonly scopes: ReadonlySet<AdminScope>;
}

/** What a handler receives: validated params, query and body, and the write context of each store call. */
export interface RouteInput<P, Q, B> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  readonly request: FastifyRequest;
  readonly caller: AdminCaller;
  /**
   * The store's write context. With an `Idempotency-Key`, each store call of one request gets its own
   * key (`step` tells them apart), derived from route, params and key, so a retry replays every step.
   */
  context(step?: string): WriteContext;
}

/** One admin API operation: its OpenAPI description and its handler, validated by the same zod schemas. */
export interface AdminRoute<P = unknown, Q = unknown, B = unknown> {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** OpenAPI form, below `/admin/v1`: `/devices/{id}:disable`. */
  readonly path: string;
  /** The scope a caller needs; `public` routes (the OpenAPI document) need none. */
  readonly scope: AdminScope | 'public';
  readonly summary: string;
  readonly params?: z.ZodType<P>;
  readonly query?: z.ZodType<Q>;
  /** A JSON body; absent for routes that take none (an empty object is then accepted). */
  readonly body?: z.ZodType<B>;
  /** A streamed body of these media types instead of JSON. */
  readonly stream?: { readonly mediaTypes: readonly string[]; readonly description: string };
  /** Request headers the route reads, for the document. */
  readonly headers?: readonly { readonly name: string; readonly description: string }[];
  readonly responses: Readonly<Record<number, { readonly description: string; readonly schema?: z.ZodType }>>;
  handler(input: RouteInput<P, Q, B>, reply: FastifyReply): Promise<unknown>;
}

/** The error answers every authenticated route may give. */
export const COMMON_ERRORS = {
  400: { description: 'malformed request: path, query, headers or body', schema: ErrorSchema },
  401: { description: 'no valid admin token or client certificate', schema: ErrorSchema },
  403: { description: 'the token or certificate lacks the scope', schema: ErrorSchema },
};

/** The header that makes a write safe to retry. */
export const IDEMPOTENCY_HEADER = {
  name: 'Idempotency-Key',
  description: 'a retried request with the same key returns the first result instead of writing again',
};

/** Declares a route with its handler's input types inferred from the schemas. */
export function route<P = Record<string, never>, Q = Record<string, never>, B = Record<string, never>>(
  spec: AdminRoute<P, Q, B>,
): AdminRoute {
  return spec as unknown as AdminRoute;
}

/** `/devices/{id}:disable` → `/devices/:id(^[A-Za-z0-9._@-]+)::disable` (find-my-way syntax). */
export function fastifyPath(path: string): string {
  return path
    .split(/(\{[a-z]+\})/)
    .map((part) => {
      const param = /^\{([a-z]+)\}$/.exec(part);
      return param ? `:${param[1]}(${ID_ROUTE_PATTERN})` : part.replaceAll(':', '::');
    })
    .join('');
}

/** Parses a request part with its schema: a typed 400 listing every issue, never the rejected value. */
export function parseWith<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return value as T;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues: AdminApiIssue[] = result.error.issues.map((issue) => ({
    path: [where, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))],
    message: issue.message,
  }));
  throw new AdminApiError(
    400,
    'ERR_INVALID_INPUT',
    `invalid request ${where}: ${issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    issues,
  );
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,256}$/;

/** The write context factory of one request (actor and per-step idempotency keys). */
export function writeContexts(
  request: FastifyRequest,
  spec: AdminRoute,
  caller: AdminCaller,
  params: unknown,
): (step?: string) => WriteContext {
  const header = request.headers['idempotency-key'];
  if (header === undefined) return () => ({ actor: caller.actor });
  if (typeof header !== 'string' || !IDEMPOTENCY_KEY.test(header)) {
    throw new AdminApiError(
      400,
      'ERR_INVALID_INPUT',
      'Idempotency-Key must be one value of 1 to 256 visible ASCII characters, e.g. a UUID',
    );
  }
  return (step = '') => ({
    actor: caller.actor,
    idempotencyKey: createHash('sha256')
      .update(JSON.stringify([spec.method, spec.path, params, step, header]))
      .digest('base64url'),
  });
}

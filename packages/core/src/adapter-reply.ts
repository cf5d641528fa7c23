import { formatIssues, type Issue } from './format-issues.js';

/**
 * What an adapter answers a broker, framework-free: the Fastify plugins and the server's lean path
 * both write it as it is, so the two cannot answer differently.
 */
export interface AdapterReply {
  readonly status: number;
  /** The exact `content-type` header value. */
  readonly contentType: string;
  readonly body: string;
  /** `body` as bytes, encoded once for the constant replies (its length is the content length). */
  readonly bytes: Buffer;
}

/** Fastify's `content-type` for a serialized object; the adapters' JSON replies keep it. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
export const TEXT_CONTENT_TYPE = 'text/plain';

/**
 * A JSON reply. Serialized with `JSON.stringify`, as Fastify does for a route without a response schema.
 *
 * @example
 * ```ts
 * const ALLOW = jsonReply(200, { result: 'allow' }); // built once, written as ALLOW.bytes
 * ```
 */
export function jsonReply(status: number, value: unknown): AdapterReply {
  return textLike(status, JSON_CONTENT_TYPE, JSON.stringify(value));
}

/**
 * A `text/plain` reply.
 *
 * @example
 * ```ts
 * const DENIED = textReply(403, 'denied');
 * ```
 */
export function textReply(status: number, text: string): AdapterReply {
  return textLike(status, TEXT_CONTENT_TYPE, text);
}

/**
 * The `{ error: 'ERR_INVALID_INPUT', message }` reply every adapter gives a request it cannot read.
 *
 * @example
 * ```ts
 * invalidInputReply(400, 'topic: must not be empty');
 * ```
 */
export function invalidInputReply(status: number, message: string): AdapterReply {
  return jsonReply(status, { error: 'ERR_INVALID_INPUT', message });
}

function textLike(status: number, contentType: string, body: string): AdapterReply {
  return { status, contentType, body, bytes: Buffer.from(body, 'utf8') };
}

/** The logger an adapter core writes to (a pino logger fits). */
export interface AdapterLog {
  debug(object: object, message: string): void;
  error(object: object, message: string): void;
}

/** Validation as zod's `safeParse` reports it. */
export type SafeParse<T> =
  | { readonly success: true; readonly data: T }
  | { readonly success: false; readonly error: { readonly issues: readonly Issue[] } };

/**
 * Checks request fields with a hand-written check (`fast`, proven equal to the schema by property
 * tests) and asks the schema (`slow`) only for a refusal's message, so every path words it the same.
 * Returns the fields, or the message of a 400.
 *
 * @example
 * ```ts
 * const fields = checkedFields(body, checkAcl, (input) => aclSchema.safeParse(input), 'body');
 * if (typeof fields === 'string') return invalidInputReply(400, fields);
 * ```
 */
export function checkedFields<T>(
  input: unknown,
  fast: (input: unknown) => T | undefined,
  slow: (input: unknown) => SafeParse<T>,
  whole: string,
): T | string {
  const checked = fast(input);
  if (checked !== undefined) return checked;
  const result = slow(input);
  // The schema is the contract: should the two ever disagree, its answer stands.
  return result.success ? result.data : formatIssues(result.error.issues, whole);
}

/** The part of a Fastify reply that {@link writeReply} uses. */
export interface ReplySink {
  code(status: number): { header(name: string, value: string): { send(body: string): unknown } };
}

/**
 * Writes an adapter reply through a web framework's reply object (Fastify's), unchanged: the body is
 * already serialized and the content type set.
 *
 * @example
 * ```ts
 * app.post('/emqx/authz', async (request, reply) => writeReply(reply, await core.authz({ body: request.body }, request.log)));
 * ```
 */
export function writeReply(reply: ReplySink, answer: AdapterReply): unknown {
  return reply.code(answer.status).header('content-type', answer.contentType).send(answer.body);
}

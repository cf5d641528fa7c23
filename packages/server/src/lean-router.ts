import type { IncomingMessage, ServerResponse } from 'node:http';
import { type AdapterLog, type AdapterReply, jsonReply } from '@mqtt-warden/core';
import type { FastifyBaseLogger } from 'fastify';
import { errorCodes } from 'fastify';
import secureJsonParse from 'secure-json-parse';
import { errorReply } from './error-reply.js';
import type { RequiredSecret } from './listener-access.js';

/**
 * One broker endpoint the lean path answers itself, for the content types it has an answer for
 * (`content-type` exactly `application/json` or `application/x-www-form-urlencoded`); any other goes
 * to Fastify.
 */
export interface LeanRoute {
  /** The adapter, for metrics and shared secrets. */
  readonly adapter: string;
  /** The adapter core for a JSON body: the parsed value in, reply out. */
  readonly json?: (body: unknown, log: AdapterLog) => AdapterReply | Promise<AdapterReply>;
  /** The adapter core for a form body: its bytes in (the core reads them as Fastify's form parser does). */
  readonly form?: (body: Buffer, log: AdapterLog) => AdapterReply | Promise<AdapterReply>;
}

export const JSON_TYPE = 'application/json';
export const FORM_TYPE = 'application/x-www-form-urlencoded';

export interface LeanRouterOptions {
  /** Hot routes by exact request target (path, no query string). */
  readonly routes: ReadonlyMap<string, LeanRoute>;
  /** Fastify's request handler: everything the lean path does not answer goes there unchanged. */
  readonly fallback: (request: IncomingMessage, response: ServerResponse) => void;
  readonly bodyLimit: number;
  /** `listen.allow`; a refused source goes to Fastify, which refuses and logs it. */
  readonly allowed?: (address: string | undefined) => boolean;
  /** Per-adapter shared secrets; a request without its secret goes to Fastify, which refuses and logs it. */
  readonly secrets: ReadonlyMap<string, RequiredSecret>;
  /** True once the server closes: Fastify then answers 503. */
  readonly closing: () => boolean;
  readonly log: LeanLog;
  /** Write Fastify's two request lines (`log.requests`); they are at info. */
  readonly requestLines: boolean;
  readonly latency: (adapter: string, route: string, seconds: number) => void;
}

/** Fastify's logger (pino) with the level check it has at run time. */
export type LeanLog = FastifyBaseLogger & { isLevelEnabled(level: string): boolean };

/** Fastify's answers to a body it cannot parse, as its error handler (errorReply) words them. */
const bodyError = (error: Error & { statusCode?: number }) => {
  const { status, body } = errorReply(error);
  return jsonReply(status, body);
};
const INVALID_JSON = bodyError(new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY());
const EMPTY_JSON = bodyError(new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY());
const TOO_LARGE = bodyError(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
const PARSE_OPTIONS = { protoAction: 'error', constructorAction: 'error' } as const;

/**
 * The server's request handler (node:http), in front of Fastify. A POST to a broker endpoint with its
 * usual content type, a plain content length within the body limit, from an allowed source and with
 * its shared secret is answered here: a JSON body is parsed as Fastify would (`secure-json-parse`), a
 * form's bytes go to the adapter core (which reads them as the Fastify route does), and the reply is
 * written in one write. Metrics are observed in line. Everything else (other methods or content types,
 * refusals, admin, health, metrics, tokens, 404s, a closing server) goes to Fastify unchanged.
 *
 * @example
 * ```ts
 * const app = Fastify({ serverFactory: (fastifyHandler) => createServer(leanRouter({ ...options, fallback: fastifyHandler })) });
 * ```
 */
export function leanRouter(
  options: LeanRouterOptions,
): (request: IncomingMessage, response: ServerResponse) => void {
  const { routes, fallback, bodyLimit, allowed, secrets, closing, log, latency } = options;
  // The level is fixed for the server's life; Fastify's request lines are at info.
  const info = options.requestLines && log.isLevelEnabled('info');
  const debug = log.isLevelEnabled('debug');
  let requests = 0;

  return (request, response) => {
    const url = request.url ?? '';
    const route = request.method === 'POST' ? routes.get(url) : undefined;
    if (route === undefined || closing()) return fallback(request, response);
    const headers = request.headers;
    const type = headers['content-type'];
    const form = type === FORM_TYPE ? route.form : undefined;
    const json = type === JSON_TYPE ? route.json : undefined;
    const length = headers['content-length'];
    const chunked = headers['transfer-encoding'];
    if (
      (form === undefined && json === undefined) ||
      // A plain length within the limit, or chunks (counted as they come); Fastify refuses the rest.
      (length === undefined
        ? chunked !== 'chunked'
        : chunked !== undefined || !DIGITS.test(length) || Number(length) > bodyLimit) ||
      (allowed !== undefined && !allowed(request.socket.remoteAddress))
    ) {
      return fallback(request, response);
    }
    const secret = secrets.get(route.adapter);
    if (secret !== undefined && !secret.matches(headers[secret.header])) return fallback(request, response);

    const started = performance.now();
    const reqLog = new RequestLog(log, ++requests, debug);
    if (info) {
      log.info(
        { reqId: reqLog.id, req: { method: 'POST', url, ip: request.socket.remoteAddress } },
        'incoming request',
      );
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= bodyLimit) return void chunks.push(chunk);
      request.removeListener('data', onData);
      request.removeListener('end', onEnd);
      // Fastify's answers to a body it cannot take close the connection: the client may send more.
      write(response, TOO_LARGE, true);
    };
    const onEnd = () => {
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      let answer: AdapterReply | Promise<AdapterReply>;
      try {
        if (form !== undefined) {
          answer = form(body, reqLog);
        } else if (body.length === 0) {
          return write(response, EMPTY_JSON, true);
        } else {
          let input: unknown;
          try {
            input = secureJsonParse(body.toString('utf8'), PARSE_OPTIONS);
          } catch {
            return write(response, INVALID_JSON, true);
          }
          answer = (json as NonNullable<LeanRoute['json']>)(input, reqLog);
        }
      } catch (error) {
        return failed(error as Error);
      }
      // A core that decided without waiting answers in this turn: no promise, no microtask.
      if (answer instanceof Promise) answer.then((reply) => write(response, reply, false), failed);
      else write(response, answer, false);
    };
    const failed = (error: Error) => {
      reqLog.error({ err: error }, 'request failed');
      write(response, bodyError(error), false);
    };
    request.on('data', onData);
    request.on('end', onEnd);
    // An aborted upload leaves nothing to answer (and an unheard 'error' would end the process).
    request.on('error', () => {});

    const adapter = route.adapter;
    function write(res: ServerResponse, reply: AdapterReply, close: boolean) {
      res.writeHead(
        reply.status,
        close
          ? { connection: 'close', 'content-type': reply.contentType, 'content-length': reply.bytes.length }
          : { 'content-type': reply.contentType, 'content-length': reply.bytes.length },
      );
      // A string body goes out in one write with the headers; a Buffer would be a second iovec (writev),
      // which cost about twice the server CPU per request here (measured under load, 2 cores).
      res.end(reply.body);
      const seconds = (performance.now() - started) / 1000;
      latency(adapter, url, seconds);
      if (info) {
        log.info(
          { reqId: reqLog.id, res: { statusCode: reply.status }, responseTime: seconds * 1000 },
          'request completed',
        );
      }
    }
  };
}

const DIGITS = /^\d{1,12}$/;

/** Log lines of one request carry its id, as Fastify's do, without a child logger per request. */
class RequestLog implements AdapterLog {
  constructor(
    private readonly root: LeanLog,
    private readonly n: number,
    private readonly debugging: boolean,
  ) {}

  get id(): string {
    return `lean-${this.n.toString(36)}`;
  }

  debug(object: object, message: string): void {
    if (this.debugging) this.root.debug({ reqId: this.id, ...object }, message);
  }

  error(object: object, message: string): void {
    this.root.error({ reqId: this.id, ...object }, message);
  }
}

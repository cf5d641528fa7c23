import type { IncomingMessage, ServerResponse } from 'node:http';
// The global `performance` is a getter, called on every use.
import { performance } from 'node:perf_hooks';
import {
  type AdapterLog,
  type AdapterReply,
  jsonReply,
  type PlainFormKeys,
  readPlainJson,
} from '@mqtt-warden/core';
import type { FastifyBaseLogger } from 'fastify';
import { errorCodes } from 'fastify';
import secureJsonParse from 'secure-json-parse';
import { contentLength } from './content-length.js';
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
  /**
   * The keys of the JSON bodies the core reads: a body of only these, plainly written, is read without
   * `JSON.parse` (`readPlainJson`, which gives the same value); any other is parsed as Fastify would.
   */
  readonly jsonKeys?: PlainFormKeys;
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
  /** The latency histogram of one route (`mqtt_warden_request_duration_seconds`), bound once per route. */
  readonly latencyOf: (adapter: string, route: string) => (seconds: number) => void;
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
 * its shared secret is answered here: a JSON body is parsed as Fastify would (`secure-json-parse`; a
 * plain one of the route's `jsonKeys` is read to the same value without it), a
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
  const { fallback, bodyLimit, allowed, closing, log } = options;
  // The level is fixed for the server's life; Fastify's request lines are at info.
  const info = options.requestLines && log.isLevelEnabled('info');
  const debugging = log.isLevelEnabled('debug');
  // What each route needs per request, found once.
  const routes = new Map<string, HotRoute>();
  for (const [url, route] of options.routes) {
    routes.set(url, {
      json: route.json,
      jsonKeys: route.jsonKeys,
      form: route.form,
      secret: options.secrets.get(route.adapter),
      latency: options.latencyOf(route.adapter, url),
    });
  }
  let requests = 0;

  /**
   * One request answered here: its body as it comes, its log lines (with its id, as Fastify's have,
   * without a child logger), its reply. One object per request; the stream listeners are shared and
   * find it on the request.
   */
  class Exchange implements AdapterLog {
    readonly started = performance.now();
    /** The body's first chunk, and all of them once there is a second. */
    first: Buffer | undefined = undefined;
    chunks: Buffer[] | undefined = undefined;
    size = 0;

    constructor(
      readonly route: HotRoute,
      readonly form: boolean,
      readonly response: ServerResponse,
      readonly n: number,
    ) {}

    get id(): string {
      return `lean-${this.n.toString(36)}`;
    }

    debug(object: object, message: string): void {
      if (debugging) log.debug({ reqId: this.id, ...object }, message);
    }

    error(object: object, message: string): void {
      log.error({ reqId: this.id, ...object }, message);
    }

    /** False once the body is over the limit: the caller stops listening and answers TOO_LARGE. */
    data(chunk: Buffer): boolean {
      this.size += chunk.length;
      if (this.size > bodyLimit) return false;
      if (this.first === undefined) this.first = chunk;
      else if (this.chunks === undefined) this.chunks = [this.first, chunk];
      else this.chunks.push(chunk);
      return true;
    }

    end(): void {
      const body = this.chunks !== undefined ? Buffer.concat(this.chunks) : (this.first ?? Buffer.alloc(0));
      let answer: AdapterReply | Promise<AdapterReply>;
      try {
        if (this.form) {
          answer = (this.route.form as NonNullable<LeanRoute['form']>)(body, this);
        } else if (body.length === 0) {
          this.write(EMPTY_JSON, true);
          return;
        } else {
          const keys = this.route.jsonKeys;
          let input: unknown = keys === undefined ? undefined : readPlainJson(body, keys);
          if (input === undefined) {
            try {
              input = secureJsonParse(body.toString('utf8'), PARSE_OPTIONS);
            } catch {
              this.write(INVALID_JSON, true);
              return;
            }
          }
          answer = (this.route.json as NonNullable<LeanRoute['json']>)(input, this);
        }
      } catch (error) {
        this.failed(error as Error);
        return;
      }
      // A core that decided without waiting answers in this turn: no promise, no microtask.
      if (answer instanceof Promise) {
        answer.then(
          (reply) => this.write(reply, false),
          (error: Error) => this.failed(error),
        );
      } else {
        this.write(answer, false);
      }
    }

    failed(error: Error): void {
      this.error({ err: error }, 'request failed');
      this.write(bodyError(error), false);
    }

    write(reply: AdapterReply, close: boolean): void {
      this.response.writeHead(
        reply.status,
        close
          ? { connection: 'close', 'content-type': reply.contentType, 'content-length': reply.bytes.length }
          : { 'content-type': reply.contentType, 'content-length': reply.bytes.length },
      );
      // A string body goes out in one write with the headers; a Buffer would be a second iovec (writev),
      // which cost about twice the server CPU per request here (measured under load, 2 cores).
      this.response.end(reply.body);
      const seconds = (performance.now() - this.started) / 1000;
      this.route.latency(seconds);
      if (info) {
        log.info(
          { reqId: this.id, res: { statusCode: reply.status }, responseTime: seconds * 1000 },
          'request completed',
        );
      }
    }
  }

  return (request, response) => {
    const url = request.url ?? '';
    const route = request.method === 'POST' ? routes.get(url) : undefined;
    if (route === undefined || closing()) return fallback(request, response);
    const headers = request.headers;
    const type = headers['content-type'];
    const form = type === FORM_TYPE ? route.form !== undefined : false;
    const length = headers['content-length'];
    const chunked = headers['transfer-encoding'];
    if (
      (!form && (type !== JSON_TYPE || route.json === undefined)) ||
      // A plain length within the limit, or chunks (counted as they come); Fastify refuses the rest.
      (length === undefined
        ? chunked !== 'chunked'
        : chunked !== undefined || !(contentLength(length) <= bodyLimit)) ||
      (allowed !== undefined && !allowed(request.socket.remoteAddress))
    ) {
      return fallback(request, response);
    }
    const secret = route.secret;
    if (secret !== undefined && !secret.matches(headers[secret.header])) return fallback(request, response);

    const exchange = new Exchange(route, form, response, ++requests);
    if (info) {
      log.info(
        { reqId: exchange.id, req: { method: 'POST', url, ip: request.socket.remoteAddress } },
        'incoming request',
      );
    }
    (request as ExchangeRequest)[EXCHANGE] = exchange;
    request.on('data', onData);
    request.on('end', onEnd);
    // No 'error' listener: node:http emits an aborted upload's error only to listeners (IncomingMessage's
    // onError), and there is nothing to answer (test: leanRouter and an aborted upload).
  };
}

/** A lean route with what its requests need found once. */
interface HotRoute extends Omit<LeanRoute, 'adapter'> {
  readonly secret: RequiredSecret | undefined;
  readonly latency: (seconds: number) => void;
}

interface Answering {
  data(chunk: Buffer): boolean;
  end(): void;
  write(reply: AdapterReply, close: boolean): void;
}
const EXCHANGE = Symbol('lean exchange');
type ExchangeRequest = IncomingMessage & { [EXCHANGE]: Answering };

// Shared by every request: the request is `this`, its exchange is on it.
function onData(this: ExchangeRequest, chunk: Buffer): void {
  const exchange = this[EXCHANGE];
  if (exchange.data(chunk)) return;
  this.removeListener('data', onData);
  this.removeListener('end', onEnd);
  // Fastify's answers to a body it cannot take close the connection: the client may send more.
  exchange.write(TOO_LARGE, true);
}
function onEnd(this: ExchangeRequest): void {
  this[EXCHANGE].end();
}

import type { IncomingHttpHeaders } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { WardenServer } from '../src/index.js';

/** A request as light-my-request (`app.inject`) takes it. */
export interface Sendable {
  readonly method?: string;
  readonly url: string;
  readonly headers?: Readonly<Record<string, string | string[]>>;
  /** An object is sent as JSON, with `content-type: application/json` unless one is given. */
  readonly payload?: string | Buffer | object;
}

/** The parts of an answer the tests read, as `app.inject` gives them. */
export interface Answer {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly rawPayload: Buffer;
  json(): unknown;
}

export type Send = (request: Sendable) => Promise<Answer>;

/**
 * The two ways into a server the suites run over: `inject` goes straight to Fastify (the lean path never
 * sees it), `http` is a real loopback connection through the listener, the lean path first.
 */
export const TRANSPORTS = ['inject', 'http'] as const;
export type Transport = (typeof TRANSPORTS)[number];

/** A sender for `server` over `transport`; `http` starts the listener. */
export async function sender(
  server: Pick<WardenServer, 'app' | 'listen'>,
  transport: Transport,
): Promise<Send> {
  if (transport === 'inject') return (request) => server.app.inject(request) as Promise<Answer>;
  return viaHttp(await server.listen());
}

/** Requests over a real connection to `base` (`http://` or `https://`), with a content length. */
export function viaHttp(base: string, tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {}): Send {
  return ({ method = 'GET', url, headers = {}, payload }) => {
    const json = payload !== undefined && typeof payload === 'object' && !Buffer.isBuffer(payload);
    const body = json ? JSON.stringify(payload) : payload;
    const sent: Record<string, string | string[]> = { ...headers };
    if (json && !Object.keys(sent).some((name) => name.toLowerCase() === 'content-type')) {
      sent['content-type'] = 'application/json';
    }
    if (body !== undefined) sent['content-length'] = String(Buffer.byteLength(body));
    const request = base.startsWith('https:') ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(`${base}${url}`, { method, headers: sent, ...tls }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const rawPayload = Buffer.concat(chunks);
          const text = rawPayload.toString('utf8');
          resolve({
            statusCode: res.statusCode ?? 0,
            headers: res.headers,
            body: text,
            rawPayload,
            json: () => JSON.parse(text),
          });
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  };
}

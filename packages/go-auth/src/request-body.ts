import { InvalidInputError, UrlEncodedForm } from '@mqtt-warden/core';
import type { FastifyRequest } from 'fastify';

/**
 * The parameters of a go-auth request. go-auth sends its JSON body even with `http_method GET`,
 * and Fastify does not parse GET bodies, so those are read and parsed here (same limit). Forms and
 * query strings come back as a {@link UrlEncodedForm}.
 */
export async function requestBody(request: FastifyRequest, limit: number): Promise<unknown> {
  if (request.method !== 'GET') return request.body;
  const length = request.headers['content-length'];
  if (length === undefined && request.headers['transfer-encoding'] === undefined) {
    return UrlEncodedForm.ofUrl(request.url);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request.raw as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyError(413, 'request body is too large');
    chunks.push(chunk);
  }
  if (size === 0) return UrlEncodedForm.ofUrl(request.url);
  const body = Buffer.concat(chunks);
  const type = request.headers['content-type'] ?? '';
  if (type.startsWith('application/json')) {
    try {
      return JSON.parse(body.toString('utf8'));
    } catch {
      throw new BodyError(400, 'body is not valid JSON');
    }
  }
  // A repeated key becomes a list, so the schema refuses it.
  if (type.startsWith('application/x-www-form-urlencoded')) return UrlEncodedForm.parse(body);
  throw new BodyError(415, `unsupported content type "${type}"`);
}

/** A body that cannot be read; answered as a 4xx, which go-auth counts as a denial. */
export class BodyError extends InvalidInputError {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

import type { FastifyInstance } from 'fastify';

/** A header a route requires, and how to check its value. */
export interface RequiredSecret {
  /** Lower-case header name. */
  readonly header: string;
  readonly matches: (presented: string | readonly string[] | undefined) => boolean;
  /** Where it is configured, for the refusal message (never the value). */
  readonly where: string;
}

export interface ListenerAccessOptions {
  /** The source addresses that may use the listener; every request from elsewhere is refused (403). */
  readonly allowed?: (address: string | undefined) => boolean;
  /** The shared secret a route requires (by its route path), if any; a request without it is refused (401). */
  readonly secretFor?: (route: string | undefined) => RequiredSecret | undefined;
}

/**
 * Refuses requests from outside the source allowlist, then requests to a protected route without its
 * shared-secret header, in the first hook of every request: before the body is read and before any
 * authentication work. Neither the presented nor the expected secret is ever logged or echoed.
 *
 * @example
 * ```ts
 * listenerAccess(app, { allowed: sourceAllowlist(['10.0.0.0/8']) });
 * ```
 */
export function listenerAccess(app: FastifyInstance, options: ListenerAccessOptions): void {
  const { allowed, secretFor } = options;
  if (!allowed && !secretFor) return;
  app.addHook('onRequest', async (request, reply) => {
    const address = request.socket.remoteAddress;
    if (allowed && !allowed(address)) {
      request.log.warn({ remoteAddress: address }, 'refused: source address not in listen.allow');
      reply
        .code(403)
        .send({ error: 'ERR_FORBIDDEN', message: 'this source address may not use mqtt-warden' });
      return reply;
    }
    const secret = secretFor?.(request.routeOptions.url);
    if (secret && !secret.matches(request.headers[secret.header])) {
      request.log.warn(
        { remoteAddress: address },
        `refused: missing or wrong shared secret (${secret.where})`,
      );
      reply.code(401).send({ error: 'ERR_UNAUTHORIZED', message: 'missing or wrong shared secret header' });
      return reply;
    }
    return undefined;
  });
}

/**
 * Why a listener is open to anyone who can reach it, or undefined when it is not: bound beyond loopback
 * with neither client certificates (`tls.ca`) nor a source allowlist.
 *
 * @example
 * ```ts
 * exposure({ host: '0.0.0.0' }); // 'listening on 0.0.0.0 without listen.tls.ca or listen.allow: …'
 * exposure({ host: '127.0.0.1' }); // undefined
 * ```
 */
export function exposure(listen: {
  readonly host: string;
  readonly tls?: { readonly ca?: string };
  readonly allow?: readonly string[];
}): string | undefined {
  const loopback = listen.host === 'localhost' || listen.host === '::1' || /^127\./.test(listen.host);
  if (loopback || listen.tls?.ca !== undefined || listen.allow !== undefined) return undefined;
  return `listening on ${listen.host} without listen.tls.ca or listen.allow: anyone who can reach the port can have passwords checked (docs/securing-the-listener.md)`;
}

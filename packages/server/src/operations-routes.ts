import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface OperationsRoutesOptions {
  /** `/readyz`: ready, or why not (answered with a 503). */
  readonly readiness: () => { readonly ready: boolean; readonly body: Record<string, unknown> };
  /** Prometheus metrics at `path`; left out, no metrics route. */
  readonly metrics?: {
    readonly path: string;
    readonly registry: Registry;
    /** Checks the `Authorization: Bearer` token; undefined serves the metrics to anyone reaching the route. */
    readonly token?: (presented: string | undefined) => boolean;
  };
}

/**
 * `/healthz`, `/readyz` and, when asked, Prometheus metrics, on the main listener or on the separate
 * operations listener (`metrics.listen`).
 *
 * @example
 * ```ts
 * operationsRoutes(app, { readiness: () => ({ ready: true, body: { status: 'ready' } }) });
 * ```
 */
export function operationsRoutes(app: FastifyInstance, options: OperationsRoutesOptions): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const { ready, body } = options.readiness();
    return reply.code(ready ? 200 : 503).send(body);
  });
  const metrics = options.metrics;
  if (!metrics) return;
  app.get(metrics.path, async (request, reply) => {
    if (metrics.token && !metrics.token(bearer(request.headers.authorization))) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="metrics"')
        .send({ error: 'ERR_UNAUTHORIZED', message: 'send the metrics bearer token' });
    }
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}

/** The token of an `Authorization: Bearer TOKEN` header (scheme case-insensitive, RFC 6750). */
function bearer(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer +(\S+)$/i.exec(header);
  return match?.[1];
}

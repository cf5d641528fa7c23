import {
  type Guard,
  type Principal,
  type PrincipalResolver,
  UrlEncodedForm,
  writeReply,
} from '@mqtt-warden/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { createRabbitMqCore, type RabbitMqCore, type RabbitMqInput } from './rabbitmq-core.js';

export type RabbitMqResult = 'allow' | 'deny' | 'error';

export interface RabbitMqDecisionEvent {
  readonly action: 'authenticate' | 'vhost' | 'resource' | 'publish' | 'subscribe';
  readonly result: RabbitMqResult | 'invalid';
  readonly reason?: string;
}

export interface RabbitMqPluginOptions {
  readonly guard: Guard;
  /** Rebuilds the principal for vhost, resource and topic checks (RabbitMQ sends no password there). */
  readonly resolver: PrincipalResolver;
  /** Route paths (`auth_http.user_path` …); `false` leaves one out. */
  readonly paths?: {
    readonly user?: string | false;
    readonly vhost?: string | false;
    readonly resource?: string | false;
    readonly topic?: string | false;
  };
  /** Virtual hosts MQTT clients may use. Default `['/']` (rabbitmq_mqtt's `mqtt.vhost`). */
  readonly vhosts?: readonly string[];
  /** The exchange rabbitmq_mqtt publishes to (`mqtt.exchange`). Default `amq.topic`. */
  readonly exchange?: string;
  /**
   * RabbitMQ user tags for an authenticated principal, sent as `allow TAG…` on the user path
   * (e.g. `management` for the management UI). None by default. Tags that are not plain words are dropped.
   */
  readonly tags?: (principal: Principal) => readonly string[];
  readonly onDecision?: (event: RabbitMqDecisionEvent) => void;
}

/**
 * RabbitMQ's HTTP auth backend (user, vhost, resource, topic; GET query or POST form) for MQTT
 * clients of rabbitmq_mqtt. Topic checks are decided by the policy on the MQTT topic behind the
 * routing key; resource checks allow exactly what the MQTT plugin needs: read/write on its
 * exchange and the client's own subscription queues.
 *
 * @example
 * ```ts
 * await app.register(rabbitMqPlugin, { guard, resolver });
 * // rabbitmq.conf: auth_backends.1 = http, auth_http.http_method = post,
 * //   auth_http.topic_path = http://127.0.0.1:8080/rabbitmq/topic …
 * ```
 */
export const rabbitMqPlugin = fp<RabbitMqPluginOptions>(
  async (app: FastifyInstance, options: RabbitMqPluginOptions) => {
    const core = createRabbitMqCore(options);
    // Held refused replies (Decision.holdMs) go out at once when the server closes.
    app.addHook('preClose', async () => core.release());
    // This plugin's own scope reads forms as bytes: passwords are bytes, other values must be UTF-8.
    if (app.hasContentTypeParser(FORM)) app.removeContentTypeParser(FORM);
    app.addContentTypeParser(FORM, { parseAs: 'buffer' }, (_request, body, done) =>
      done(null, UrlEncodedForm.parse(body as Buffer)),
    );

    const route = (
      path: string | false | undefined,
      fallback: string,
      endpoint: Exclude<keyof RabbitMqCore, 'release'>,
    ) => {
      if (path === false) return;
      app.route({
        method: ['GET', 'POST'],
        url: path ?? fallback,
        handler: async (request, reply) =>
          writeReply(reply, await core[endpoint](inputOf(request), request.log)),
      });
    };
    route(options.paths?.user, '/rabbitmq/user', 'user');
    route(options.paths?.vhost, '/rabbitmq/vhost', 'vhost');
    route(options.paths?.resource, '/rabbitmq/resource', 'resource');
    route(options.paths?.topic, '/rabbitmq/topic', 'topic');
  },
  // Encapsulated: the form parser above is for these routes only.
  { fastify: '5.x', name: '@mqtt-warden/rabbitmq', encapsulate: true },
);

/** The query of a GET, the form body of a POST (undefined when the body is not a form). */
function inputOf(request: FastifyRequest): RabbitMqInput {
  if (request.method !== 'POST') return UrlEncodedForm.ofUrl(request.url);
  return request.body instanceof UrlEncodedForm ? request.body : undefined;
}

const FORM = 'application/x-www-form-urlencoded';

import {
  formatIssues,
  type Guard,
  type Principal,
  type PrincipalQuery,
  type PrincipalResolver,
  ReplyHolds,
  UrlEncodedForm,
} from '@mqtt-warden/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { z } from 'zod';
import {
  resourceSchema,
  routingKeyToTopic,
  topicSchema,
  userSchema,
  vhostSchema,
} from './rabbitmq-request.js';

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

/** What RabbitMQ accepts as a tag; anything else could break the one-line reply. */
const TAG = /^[A-Za-z0-9_-]+$/;

/** rabbitmq_mqtt's subscription queues: `mqtt-subscription-<client id>qos0` / `qos1`. */
const SUBSCRIPTION_QUEUE = /^mqtt-subscription-(.*)qos[01]$/s;

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
    const { guard, resolver } = options;
    const vhosts = new Set(options.vhosts ?? ['/']);
    const exchange = options.exchange ?? 'amq.topic';
    const report = options.onDecision ?? (() => {});
    // Refused replies the defenses hold (Decision.holdMs) go out at once when the server closes.
    const holds = new ReplyHolds();
    app.addHook('preClose', async () => holds.release());
    // This plugin's own scope reads forms as bytes: passwords are bytes, other values must be UTF-8.
    if (app.hasContentTypeParser(FORM)) app.removeContentTypeParser(FORM);
    app.addContentTypeParser(FORM, { parseAs: 'buffer' }, (_request, body, done) =>
      done(null, UrlEncodedForm.parse(body as Buffer)),
    );

    const route = (
      path: string | false | undefined,
      fallback: string,
      handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
    ) => {
      if (path === false) return;
      app.route({ method: ['GET', 'POST'], url: path ?? fallback, handler });
    };

    route(options.paths?.user, '/rabbitmq/user', async (request, reply) => {
      const parsed = parse(request, reply, userSchema, 'authenticate');
      if (!parsed) return reply;
      const { fields } = parsed;
      if (fields.vhost !== undefined && !vhosts.has(fields.vhost)) {
        return answer(reply, 'authenticate', 'deny', 'vhost');
      }
      const result = await guard.authenticate({
        clientId: fields.client_id ?? '',
        username: fields.username,
        password: parsed.form.bytes('password'),
        transport: { tls: false },
      });
      if (result.ok) {
        const tags = (options.tags?.(result.principal) ?? []).filter((tag) => TAG.test(tag));
        return answer(reply, 'authenticate', 'allow', undefined, tags);
      }
      const error = result.reason === 'error' || result.reason === 'unavailable';
      return answer(reply, 'authenticate', error ? 'error' : 'deny', result.reason);
    });

    route(options.paths?.vhost, '/rabbitmq/vhost', async (request, reply) => {
      const fields = parse(request, reply, vhostSchema, 'vhost')?.fields;
      if (!fields) return reply;
      const principal = await resolve(request, {
        username: fields.username,
        clientId: fields.client_id,
        remoteAddress: fields.ip,
      });
      if (principal === 'error') return answer(reply, 'vhost', 'error', 'error');
      if (principal === undefined) return answer(reply, 'vhost', 'deny', 'unknown');
      return answer(reply, 'vhost', vhosts.has(fields.vhost) ? 'allow' : 'deny', 'vhost');
    });

    route(options.paths?.resource, '/rabbitmq/resource', async (request, reply) => {
      const fields = parse(request, reply, resourceSchema, 'resource')?.fields;
      if (!fields) return reply;
      const principal = await resolve(request, { username: fields.username, clientId: fields.client_id });
      if (principal === 'error') return answer(reply, 'resource', 'error', 'error');
      if (principal === undefined) return answer(reply, 'resource', 'deny', 'unknown');
      if (!vhosts.has(fields.vhost)) return answer(reply, 'resource', 'deny', 'vhost');
      // Publish is decided on topic_path: a denied exchange write leaves RabbitMQ 3.10 MQTT clients hanging.
      const allowed =
        fields.resource === 'exchange'
          ? fields.name === exchange && fields.permission !== 'configure'
          : fields.resource === 'queue' &&
            fields.client_id !== undefined &&
            SUBSCRIPTION_QUEUE.exec(fields.name)?.[1] === fields.client_id;
      return answer(reply, 'resource', allowed ? 'allow' : 'deny', allowed ? undefined : 'resource');
    });

    route(options.paths?.topic, '/rabbitmq/topic', async (request, reply) => {
      const parsed = parse(request, reply, topicSchema, 'publish');
      if (!parsed) return reply;
      const { fields } = parsed;
      const action = fields.permission === 'write' ? 'publish' : 'subscribe';
      // A routing key that is not UTF-8 names no MQTT topic; read raw it could escape a deny.
      if (parsed.form.undecodable.has('routing_key')) return answer(reply, action, 'deny', 'invalid');
      const principal = await resolve(request, {
        username: fields.username,
        clientId: fields['variable_map.client_id'],
      });
      if (principal === 'error') return answer(reply, action, 'error', 'error');
      if (principal === undefined) return answer(reply, action, 'deny', 'unknown');
      if (!vhosts.has(fields.vhost) || fields.name !== exchange)
        return answer(reply, action, 'deny', 'exchange');
      const decision = guard.authorize(principal, { action, topic: routingKeyToTopic(fields.routing_key) });
      if (decision.reason === 'error') return answer(reply, action, 'error', 'error');
      await holds.wait(decision);
      return answer(
        reply,
        action,
        decision.allowed ? 'allow' : 'deny',
        decision.allowed ? undefined : decision.reason,
      );
    });

    async function resolve(
      request: FastifyRequest,
      query: PrincipalQuery,
    ): Promise<Principal | undefined | 'error'> {
      if (query.username === '') return undefined;
      try {
        return await resolver.resolve(query);
      } catch (error) {
        request.log.error({ err: error }, 'principal resolver failed');
        return 'error';
      }
    }

    /** The fields, and the form they came in (for the password's bytes and encoding checks). */
    function parse<S extends z.ZodType>(
      request: FastifyRequest,
      reply: FastifyReply,
      schema: S,
      action: RabbitMqDecisionEvent['action'],
    ): { fields: z.infer<S>; form: UrlEncodedForm } | undefined {
      let form = UrlEncodedForm.ofUrl(request.url);
      if (request.method === 'POST') {
        // RabbitMQ sends forms only; anything else is not RabbitMQ.
        if (!(request.body instanceof UrlEncodedForm)) {
          invalid(reply, 415, 'RabbitMQ sends application/x-www-form-urlencoded bodies', action);
          return undefined;
        }
        form = request.body;
      }
      const result = schema.safeParse(form.fields);
      if (!result.success) {
        invalid(reply, 400, formatIssues(result.error.issues, 'request'), action);
        return undefined;
      }
      const undecodable = [...form.undecodable].find((key) => key !== 'password' && key !== 'routing_key');
      if (undecodable !== undefined) {
        invalid(reply, 400, `${undecodable}: its percent-escapes do not decode to UTF-8`, action);
        return undefined;
      }
      return { fields: result.data, form };
    }

    // RabbitMQ treats any status other than 200/201 as an error, which refuses the client.
    function invalid(
      reply: FastifyReply,
      status: number,
      message: string,
      action: RabbitMqDecisionEvent['action'],
    ) {
      report({ action, result: 'invalid' });
      reply.code(status).send({ error: 'ERR_INVALID_INPUT', message });
    }

    function answer(
      reply: FastifyReply,
      action: RabbitMqDecisionEvent['action'],
      result: RabbitMqResult,
      reason?: string,
      tags: readonly string[] = [],
    ) {
      report({ action, result, reason: result === 'allow' ? undefined : reason });
      if (result === 'error') return reply.code(500).type('text/plain').send('error');
      return reply.type('text/plain').send(tags.length > 0 ? `${result} ${tags.join(' ')}` : result);
    }
  },
  // Encapsulated: the form parser above is for these routes only.
  { fastify: '5.x', name: '@mqtt-warden/rabbitmq', encapsulate: true },
);

const FORM = 'application/x-www-form-urlencoded';

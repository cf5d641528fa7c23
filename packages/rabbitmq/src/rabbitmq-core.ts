import {
  type AdapterLog,
  type AdapterReply,
  checkedFields,
  invalidInputReply,
  type Principal,
  type PrincipalQuery,
  plainFormKeys,
  ReplyHolds,
  readPlainForm,
  type SafeParse,
  textReply,
  UrlEncodedForm,
} from '@mqtt-warden/core';
import { checkResource, checkTopic, checkUser, checkVhost } from './rabbitmq-checks.js';
import type { RabbitMqDecisionEvent, RabbitMqPluginOptions, RabbitMqResult } from './rabbitmq-plugin.js';
import {
  resourceSchema,
  routingKeyToTopic,
  topicSchema,
  userSchema,
  vhostSchema,
} from './rabbitmq-request.js';

const USER_KEYS = plainFormKeys(Object.keys(userSchema.shape));
const VHOST_KEYS = plainFormKeys(Object.keys(vhostSchema.shape));
const RESOURCE_KEYS = plainFormKeys(Object.keys(resourceSchema.shape));
const TOPIC_KEYS = plainFormKeys(Object.keys(topicSchema.shape));

/**
 * A RabbitMQ request as received: the form of its body or query string, the bytes of a form body
 * (read here, the usual body in one pass), or undefined for a POST whose body is not a form (RabbitMQ
 * sends forms only; anything else is not RabbitMQ).
 */
export type RabbitMqInput = UrlEncodedForm | Buffer | undefined;

/** The RabbitMQ endpoints without a web framework: request fields in, reply out. */
export interface RabbitMqCore {
  user(input: RabbitMqInput, log: AdapterLog): Promise<AdapterReply>;
  vhost(input: RabbitMqInput, log: AdapterLog): Promise<AdapterReply>;
  resource(input: RabbitMqInput, log: AdapterLog): Promise<AdapterReply>;
  topic(input: RabbitMqInput, log: AdapterLog): Promise<AdapterReply>;
  /** Sends every reply held for the defenses (`Decision.holdMs`) now: call it when the server closes. */
  release(): void;
}

/** What RabbitMQ accepts as a tag; anything else could break the one-line reply. */
const TAG = /^[A-Za-z0-9_-]+$/;

/** rabbitmq_mqtt's subscription queues: `mqtt-subscription-<client id>qos0` / `qos1`. */
const SUBSCRIPTION_QUEUE = /^mqtt-subscription-(.*)qos[01]$/s;

// RabbitMQ treats any status other than 200/201 as an error, which refuses the client.
const RESULTS: Record<RabbitMqResult, AdapterReply> = {
  allow: textReply(200, 'allow'),
  deny: textReply(200, 'deny'),
  error: textReply(500, 'error'),
};

/**
 * Builds the decision logic of {@link rabbitMqPlugin}, which serves it through Fastify; the server's
 * lean path calls it directly.
 *
 * @example
 * ```ts
 * const core = createRabbitMqCore({ guard, resolver });
 * const reply = await core.topic(UrlEncodedForm.parse(body), log); // reply.status, reply.bytes
 * ```
 */
export function createRabbitMqCore(options: RabbitMqPluginOptions): RabbitMqCore {
  const { guard, resolver } = options;
  const vhosts = new Set(options.vhosts ?? ['/']);
  const exchange = options.exchange ?? 'amq.topic';
  const report = options.onDecision ?? (() => {});
  // Refused replies the defenses hold (Decision.holdMs); release() sends them at once on close.
  const holds = new ReplyHolds();

  return {
    release: () => holds.release(),
    async user(input) {
      const parsed = parse(input, USER_KEYS, checkUser, (v) => userSchema.safeParse(v), 'authenticate');
      if (!('fields' in parsed)) return parsed;
      const { fields, form } = parsed;
      if (fields.vhost !== undefined && !vhosts.has(fields.vhost)) {
        return decided('authenticate', 'deny', 'vhost');
      }
      const result = await guard.authenticate({
        clientId: fields.client_id ?? '',
        username: fields.username,
        // A plain form's password is ASCII: its text is its bytes.
        password: form
          ? form.bytes('password')
          : fields.password === undefined
            ? undefined
            : Buffer.from(fields.password, 'latin1'),
        transport: { tls: false },
      });
      if (result.ok) {
        const tags = (options.tags?.(result.principal) ?? []).filter((tag) => TAG.test(tag));
        return decided('authenticate', 'allow', undefined, tags);
      }
      const error = result.reason === 'error' || result.reason === 'unavailable';
      return decided('authenticate', error ? 'error' : 'deny', result.reason);
    },

    async vhost(input, log) {
      const parsed = parse(input, VHOST_KEYS, checkVhost, (v) => vhostSchema.safeParse(v), 'vhost');
      if (!('fields' in parsed)) return parsed;
      const { fields } = parsed;
      const principal = await resolve(log, {
        username: fields.username,
        clientId: fields.client_id,
        remoteAddress: fields.ip,
      });
      if (principal === 'error') return decided('vhost', 'error', 'error');
      if (principal === undefined) return decided('vhost', 'deny', 'unknown');
      return decided('vhost', vhosts.has(fields.vhost) ? 'allow' : 'deny', 'vhost');
    },

    async resource(input, log) {
      const parsed = parse(
        input,
        RESOURCE_KEYS,
        checkResource,
        (v) => resourceSchema.safeParse(v),
        'resource',
      );
      if (!('fields' in parsed)) return parsed;
      const { fields } = parsed;
      const principal = await resolve(log, { username: fields.username, clientId: fields.client_id });
      if (principal === 'error') return decided('resource', 'error', 'error');
      if (principal === undefined) return decided('resource', 'deny', 'unknown');
      if (!vhosts.has(fields.vhost)) return decided('resource', 'deny', 'vhost');
      // Publish is decided on topic_path: a denied exchange write leaves RabbitMQ 3.10 MQTT clients hanging.
      const allowed =
        fields.resource === 'exchange'
          ? fields.name === exchange && fields.permission !== 'configure'
          : fields.resource === 'queue' &&
            fields.client_id !== undefined &&
            SUBSCRIPTION_QUEUE.exec(fields.name)?.[1] === fields.client_id;
      return decided('resource', allowed ? 'allow' : 'deny', 'resource');
    },

    async topic(input, log) {
      const parsed = parse(input, TOPIC_KEYS, checkTopic, (v) => topicSchema.safeParse(v), 'publish');
      if (!('fields' in parsed)) return parsed;
      const { fields, form } = parsed;
      const action = fields.permission === 'write' ? 'publish' : 'subscribe';
      // A routing key that is not UTF-8 names no MQTT topic; read raw it could escape a deny.
      if (form?.undecodable.has('routing_key')) return decided(action, 'deny', 'invalid');
      const principal = await resolve(log, {
        username: fields.username,
        clientId: fields['variable_map.client_id'],
      });
      if (principal === 'error') return decided(action, 'error', 'error');
      if (principal === undefined) return decided(action, 'deny', 'unknown');
      if (!vhosts.has(fields.vhost) || fields.name !== exchange) return decided(action, 'deny', 'exchange');
      const decision = guard.authorize(principal, { action, topic: routingKeyToTopic(fields.routing_key) });
      if (decision.reason === 'error') return decided(action, 'error', 'error');
      const held = holds.wait(decision);
      if (held) await held;
      return decided(action, decision.allowed ? 'allow' : 'deny', decision.reason);
    },
  };

  async function resolve(log: AdapterLog, query: PrincipalQuery): Promise<Principal | undefined | 'error'> {
    if (query.username === '') return undefined;
    try {
      return await resolver.resolve(query);
    } catch (error) {
      log.error({ err: error }, 'principal resolver failed');
      return 'error';
    }
  }

  /**
   * The fields and the form they came in (for the password's bytes and encoding checks; none for a
   * plain form, whose values are ASCII), or the refusal.
   */
  function parse<F>(
    input: RabbitMqInput,
    keys: ReadonlyMap<string, number>,
    fast: (input: unknown) => F | undefined,
    slow: (input: unknown) => SafeParse<F>,
    action: RabbitMqDecisionEvent['action'],
  ): { fields: F; form?: UrlEncodedForm } | AdapterReply {
    if (input === undefined) {
      return invalid(415, 'RabbitMQ sends application/x-www-form-urlencoded bodies', action);
    }
    if (!(input instanceof UrlEncodedForm)) {
      const plain = readPlainForm(input, keys);
      const fields = plain === undefined ? undefined : fast(plain);
      if (fields !== undefined) return { fields };
    }
    const form = input instanceof UrlEncodedForm ? input : UrlEncodedForm.parse(input);
    const fields = checkedFields(form.fields, fast, slow, 'request');
    if (typeof fields === 'string') return invalid(400, fields, action);
    const undecodable = [...form.undecodable].find((key) => key !== 'password' && key !== 'routing_key');
    if (undecodable !== undefined) {
      return invalid(400, `${undecodable}: its percent-escapes do not decode to UTF-8`, action);
    }
    return { fields, form };
  }

  function invalid(status: number, message: string, action: RabbitMqDecisionEvent['action']): AdapterReply {
    report({ action, result: 'invalid' });
    return invalidInputReply(status, message);
  }

  /** The one place a decision becomes a RabbitMQ reply (`allow [TAG…]`, `deny`, or a 500). */
  function decided(
    action: RabbitMqDecisionEvent['action'],
    result: RabbitMqResult,
    reason?: string,
    tags: readonly string[] = [],
  ): AdapterReply {
    report({ action, result, reason: result === 'allow' ? undefined : reason });
    return tags.length > 0 ? textReply(200, `${result} ${tags.join(' ')}`) : RESULTS[result];
  }
}

import {
  type AdapterLog,
  type AdapterReply,
  checkedFields,
  type Decision,
  invalidInputReply,
  type Principal,
  type PrincipalQuery,
  ReplyHolds,
  readPlainFormValues,
  resolvePrincipal,
  type SafeParse,
  textReply,
  UrlEncodedForm,
} from '@mqtt-warden/core';
import { checkResource, checkTopic, checkUser, checkVhost, type FieldCheck } from './rabbitmq-checks.js';
import type { RabbitMqDecisionEvent, RabbitMqPluginOptions, RabbitMqResult } from './rabbitmq-plugin.js';
import {
  resourceSchema,
  routingKeyToTopic,
  topicSchema,
  userSchema,
  vhostSchema,
} from './rabbitmq-request.js';

/**
 * A RabbitMQ request as received: the form of its body or query string, the bytes of a form body
 * (read here, the usual body in one pass), or undefined for a POST whose body is not a form (RabbitMQ
 * sends forms only; anything else is not RabbitMQ).
 */
export type RabbitMqInput = UrlEncodedForm | Buffer | undefined;

/**
 * The RabbitMQ endpoints without a web framework: request fields in, reply out. A reply that needs no
 * waiting (a remembered session, no held refusal) comes at once, not as a promise.
 */
export interface RabbitMqCore {
  user(input: RabbitMqInput, log: AdapterLog): Promise<AdapterReply>;
  vhost(input: RabbitMqInput, log: AdapterLog): AdapterReply | Promise<AdapterReply>;
  resource(input: RabbitMqInput, log: AdapterLog): AdapterReply | Promise<AdapterReply>;
  topic(input: RabbitMqInput, log: AdapterLog): AdapterReply | Promise<AdapterReply>;
  /** Sends every reply held for the defenses (`Decision.holdMs`) now: call it when the server closes. */
  release(): void;
}

/** A plain form's values by key index (`FieldCheck.at`; undefined: not given). */
type Values = readonly (string | undefined)[];

/** A request's values by key index (`FieldCheck.at`), and the form they came in when not plain. */
class Fields {
  constructor(
    readonly values: Values,
    readonly form?: UrlEncodedForm,
  ) {}
}

const U = checkUser.at;
const V = checkVhost.at;
const R = checkResource.at;
const T = checkTopic.at;

/** What RabbitMQ accepts as a tag; anything else could break the one-line reply. */
const TAG = /^[A-Za-z0-9_-]+$/;

/** rabbitmq_mqtt's subscription queues: `mqtt-subscription-<client id>qos0` / `qos1`. */
const SUBSCRIPTION_QUEUE = /^mqtt-subscription-(.*)qos[01]$/s;

// RabbitMQ treats any status other than 200/201 as an error, which refuses the client.
const ALLOW = textReply(200, 'allow');
const DENY = textReply(200, 'deny');
const ERROR = textReply(500, 'error');

const NO_TAGS: readonly string[] = [];

/** An allow carries no reason: one event per action serves them all. */
const allowed = (action: RabbitMqDecisionEvent['action']): RabbitMqDecisionEvent =>
  Object.freeze({ action, result: 'allow', reason: undefined });
const PUBLISH_ALLOWED = allowed('publish');
const SUBSCRIBE_ALLOWED = allowed('subscribe');
const RESOURCE_ALLOWED = allowed('resource');
const VHOST_ALLOWED = allowed('vhost');
const AUTHENTICATE_ALLOWED = allowed('authenticate');

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
      const parsed = parse(input, checkUser, (v) => userSchema.safeParse(v), 'authenticate');
      if (!(parsed instanceof Fields)) return parsed;
      const { values, form } = parsed;
      const vhost = values[U.vhost];
      if (vhost !== undefined && !vhosts.has(vhost)) return decided('authenticate', 'deny', 'vhost');
      const password = values[U.password];
      const result = await guard.authenticate({
        clientId: values[U.client_id] ?? '',
        username: values[U.username],
        // A plain form's password is ASCII: its text is its bytes.
        password: form
          ? form.bytes('password')
          : password === undefined
            ? undefined
            : Buffer.from(password, 'latin1'),
        transport: { tls: false },
      });
      if (result.ok) {
        const tags = (options.tags?.(result.principal) ?? []).filter((tag) => TAG.test(tag));
        return decided('authenticate', 'allow', undefined, tags);
      }
      const error = result.reason === 'error' || result.reason === 'unavailable';
      return decided('authenticate', error ? 'error' : 'deny', result.reason);
    },

    vhost(input, log) {
      const parsed = parse(input, checkVhost, (v) => vhostSchema.safeParse(v), 'vhost');
      if (!(parsed instanceof Fields)) return parsed;
      const { values } = parsed;
      const vhost = values[V.vhost] as string;
      const principal = resolve(log, {
        username: values[V.username] as string,
        clientId: values[V.client_id],
        remoteAddress: values[V.ip],
      });
      return principal instanceof Promise ? vhostLater(principal, vhost) : vhostDecided(principal, vhost);
    },

    resource(input, log) {
      const parsed = parse(input, checkResource, (v) => resourceSchema.safeParse(v), 'resource');
      if (!(parsed instanceof Fields)) return parsed;
      const { values } = parsed;
      const principal = resolve(log, {
        username: values[R.username] as string,
        clientId: values[R.client_id],
      });
      return principal instanceof Promise
        ? resourceLater(principal, values)
        : resourceDecided(principal, values);
    },

    topic(input, log) {
      const parsed = parse(input, checkTopic, (v) => topicSchema.safeParse(v), 'publish');
      if (!(parsed instanceof Fields)) return parsed;
      const { values, form } = parsed;
      const action = values[T.permission] === 'write' ? 'publish' : 'subscribe';
      // A routing key that is not UTF-8 names no MQTT topic; read raw it could escape a deny.
      if (form?.undecodable.has('routing_key')) return decided(action, 'deny', 'invalid');
      const principal = resolve(log, {
        username: values[T.username] as string,
        clientId: values[T['variable_map.client_id']],
      });
      return principal instanceof Promise
        ? topicLater(principal, action, values)
        : topicDecided(principal, action, values);
    },
  };

  function vhostDecided(principal: Principal | undefined | 'error', vhost: string): AdapterReply {
    if (principal === 'error') return decided('vhost', 'error', 'error');
    if (principal === undefined) return decided('vhost', 'deny', 'unknown');
    return decided('vhost', vhosts.has(vhost) ? 'allow' : 'deny', 'vhost');
  }

  function resourceDecided(principal: Principal | undefined | 'error', values: Values): AdapterReply {
    if (principal === 'error') return decided('resource', 'error', 'error');
    if (principal === undefined) return decided('resource', 'deny', 'unknown');
    if (!vhosts.has(values[R.vhost] as string)) return decided('resource', 'deny', 'vhost');
    // Publish is decided on topic_path: a denied exchange write leaves RabbitMQ 3.10 MQTT clients hanging.
    const name = values[R.name] as string;
    const clientId = values[R.client_id];
    const allowed =
      values[R.resource] === 'exchange'
        ? name === exchange && values[R.permission] !== 'configure'
        : values[R.resource] === 'queue' &&
          clientId !== undefined &&
          SUBSCRIPTION_QUEUE.exec(name)?.[1] === clientId;
    return decided('resource', allowed ? 'allow' : 'deny', 'resource');
  }

  function topicDecided(
    principal: Principal | undefined | 'error',
    action: 'publish' | 'subscribe',
    values: Values,
  ): AdapterReply | Promise<AdapterReply> {
    if (principal === 'error') return decided(action, 'error', 'error');
    if (principal === undefined) return decided(action, 'deny', 'unknown');
    if (!vhosts.has(values[T.vhost] as string) || values[T.name] !== exchange) {
      return decided(action, 'deny', 'exchange');
    }
    const topic = routingKeyToTopic(values[T.routing_key] as string);
    const decision = guard.authorize(principal, { action, topic });
    if (decision.reason === 'error') return decided(action, 'error', 'error');
    const held = holds.wait(decision);
    return held
      ? heldLater(held, action, decision)
      : decided(action, decision.allowed ? 'allow' : 'deny', decision.reason);
  }

  // The promise paths, apart: a closure in a function makes every call of it allocate its context.
  function vhostLater(principal: Promise<Principal | undefined | 'error'>, vhost: string) {
    return principal.then((p) => vhostDecided(p, vhost));
  }
  function resourceLater(principal: Promise<Principal | undefined | 'error'>, values: Values) {
    return principal.then((p) => resourceDecided(p, values));
  }
  function topicLater(
    principal: Promise<Principal | undefined | 'error'>,
    action: 'publish' | 'subscribe',
    values: Values,
  ) {
    return principal.then((p) => topicDecided(p, action, values));
  }
  function heldLater(held: Promise<void>, action: 'publish' | 'subscribe', decision: Decision) {
    return held.then(() => decided(action, decision.allowed ? 'allow' : 'deny', decision.reason));
  }

  /** The session behind a request (undefined: none), or 'error' when the resolver failed (logged). */
  function resolve(
    log: AdapterLog,
    query: PrincipalQuery,
  ): Principal | undefined | 'error' | Promise<Principal | undefined | 'error'> {
    if (query.username === '') return undefined;
    try {
      const found = resolvePrincipal(resolver, query);
      return found instanceof Promise ? caught(found, log) : found;
    } catch (error) {
      return resolverFailed(log, error);
    }
  }

  function caught(found: Promise<Principal | undefined>, log: AdapterLog) {
    return found.catch((error) => resolverFailed(log, error));
  }

  function resolverFailed(log: AdapterLog, error: unknown): 'error' {
    log.error({ err: error }, 'principal resolver failed');
    return 'error';
  }

  /**
   * The values of a request (by `check.at`) and, when it was not a plain form, the form they came in
   * (for the password's bytes and encoding checks), or the refusal.
   */
  function parse<F>(
    input: RabbitMqInput,
    check: FieldCheck<F>,
    slow: (input: unknown) => SafeParse<F>,
    action: RabbitMqDecisionEvent['action'],
  ): Fields | AdapterReply {
    if (input === undefined) {
      return invalid(415, 'RabbitMQ sends application/x-www-form-urlencoded bodies', action);
    }
    if (!(input instanceof UrlEncodedForm)) {
      const values = readPlainFormValues(input, check.keys);
      if (values !== undefined && check.values(values)) return new Fields(values);
    }
    const form = input instanceof UrlEncodedForm ? input : UrlEncodedForm.parse(input);
    const fields = checkedFields(form.fields, check, slow, 'request');
    if (typeof fields === 'string') return invalid(400, fields, action);
    const undecodable = [...form.undecodable].find((key) => key !== 'password' && key !== 'routing_key');
    if (undecodable !== undefined) {
      return invalid(400, `${undecodable}: its percent-escapes do not decode to UTF-8`, action);
    }
    const record = fields as Record<string, string | undefined>;
    return new Fields(
      check.keys.names.map((key) => record[key]),
      form,
    );
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
    tags: readonly string[] = NO_TAGS,
  ): AdapterReply {
    // Constants picked by comparison: a keyed load by a varying name would be megamorphic.
    if (result !== 'allow') report({ action, result, reason });
    else if (action === 'publish') report(PUBLISH_ALLOWED);
    else if (action === 'subscribe') report(SUBSCRIBE_ALLOWED);
    else if (action === 'resource') report(RESOURCE_ALLOWED);
    else if (action === 'vhost') report(VHOST_ALLOWED);
    else report(AUTHENTICATE_ALLOWED);
    if (tags.length > 0) return textReply(200, `${result} ${tags.join(' ')}`);
    return result === 'allow' ? ALLOW : result === 'deny' ? DENY : ERROR;
  }
}

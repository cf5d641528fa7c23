import {
  type AccessRequest,
  type AdapterLog,
  type AdapterReply,
  checkedFields,
  invalidInputReply,
  jsonReply,
  type Principal,
  plainFormKeys,
  ReplyHolds,
  readPlainForm,
  resolvePrincipal,
  type SafeParse,
  textReply,
  UrlEncodedForm,
} from '@mqtt-warden/core';
import { aclAcc, checkAcl, checkSuperuser, checkUser, isRecord } from './go-auth-checks.js';
import type {
  GoAuthDecisionEvent,
  GoAuthPluginOptions,
  GoAuthResult,
  ResponseMode,
} from './go-auth-plugin.js';
import { type AclFields, aclSchema, superuserSchema, userSchema } from './go-auth-request.js';

/** A go-auth request as received: the JSON body, or a form (`body` is then `form.fields`). */
export interface GoAuthInput {
  readonly body: unknown;
  readonly form?: UrlEncodedForm;
}

/** The go-auth endpoints without a web framework: request fields in, reply out. */
export interface GoAuthCore {
  user(input: GoAuthInput, log: AdapterLog): Promise<AdapterReply>;
  /** The reply at once when nothing needs waiting for (a session known here), else a promise of it. */
  superuser(input: GoAuthInput, log: AdapterLog): AdapterReply | Promise<AdapterReply>;
  /** The reply at once when nothing needs waiting for (a known session, no held refusal), else a promise of it. */
  acl(input: GoAuthInput, log: AdapterLog): AdapterReply | Promise<AdapterReply>;
  /** The reply to a request whose body cannot be read (`status` 400, 413 or 415). */
  unreadable(status: number, message: string, action: GoAuthDecisionEvent['action']): AdapterReply;
  /** Sends every reply held for the defenses (`Decision.holdMs`) now: call it when the server closes. */
  release(): void;
}

/** go-auth `acc` → the neutral actions that must all be allowed. 3 (readwrite) is never sent by go-auth. */
const ACC: Record<AclFields['acc'], readonly AccessRequest['action'][]> = {
  1: ['receive'],
  2: ['publish'],
  3: ['receive', 'publish'],
  4: ['subscribe'],
};
const ACC_NAME = { 1: 'receive', 2: 'publish', 3: 'readwrite', 4: 'subscribe' } as const;

/** Each response mode's replies, built once. 5xx is go-auth's "error": Mosquitto then refuses the client. */
const REPLIES: Record<ResponseMode, Record<GoAuthResult, AdapterReply>> = {
  status: { grant: textReply(200, ''), deny: textReply(403, 'denied'), error: textReply(500, 'error') },
  text: { grant: textReply(200, 'ok'), deny: textReply(200, 'denied'), error: textReply(500, 'error') },
  json: {
    grant: jsonReply(200, { ok: true, error: '' }),
    deny: jsonReply(200, { ok: false, error: 'not authorized' }),
    error: jsonReply(500, { ok: false, error: 'internal error' }),
  },
};

const USER_SHAPE: ReadonlySet<string> = new Set(Object.keys(userSchema.shape));
const SUPERUSER_SHAPE: ReadonlySet<string> = new Set(Object.keys(superuserSchema.shape));
const ACL_SHAPE: ReadonlySet<string> = new Set(Object.keys(aclSchema.shape));
const FORM_KEYS = plainFormKeys([...new Set([...USER_SHAPE, ...SUPERUSER_SHAPE, ...ACL_SHAPE])]);

/**
 * The keys of a JSON body the lean path reads without `JSON.parse` (`readPlainJson`): those of the
 * request schemas. A body with any other key (one the core logs as ignored) takes the general path.
 *
 * @example
 * ```ts
 * readPlainJson(Buffer.from('{"acc":2,"clientid":"c","topic":"t","username":"u"}'), GO_AUTH_JSON_KEYS);
 * ```
 */
export const GO_AUTH_JSON_KEYS = FORM_KEYS;

/**
 * The input of a form body (go-auth's `http_params_mode form`). A plain one (known keys, ASCII: see
 * `readPlainForm`) is read as its JSON twin: the same string values (`acc` a decimal string, as JSON
 * may send it), none undecodable, the password's text its bytes; any other is parsed as a form, as the
 * Fastify route parses it.
 *
 * @example
 * ```ts
 * await core.acl(goAuthFormInput(Buffer.from('acc=2&clientid=c&topic=t&username=u')), log);
 * ```
 */
export function goAuthFormInput(body: Buffer): GoAuthInput {
  const plain = readPlainForm(body, FORM_KEYS);
  if (plain !== undefined) return { body: plain };
  const form = UrlEncodedForm.parse(body);
  return { body: form.fields, form };
}

/**
 * Builds the decision logic of {@link goAuthPlugin}, which serves it through Fastify; the server's
 * lean path calls it directly.
 *
 * @example
 * ```ts
 * const core = createGoAuthCore({ guard, resolver, responseMode: 'json' });
 * const reply = await core.acl({ body: JSON.parse(text) }, log); // reply.status, reply.bytes
 * ```
 */
export function createGoAuthCore(options: GoAuthPluginOptions): GoAuthCore {
  const { guard, resolver } = options;
  const replies = REPLIES[options.responseMode ?? 'status'];
  const deliveryChecked = options.deliveryChecked ?? true;
  const report = options.onDecision ?? (() => {});
  // Refused replies the defenses hold (Decision.holdMs); release() sends them at once on close.
  const holds = new ReplyHolds();

  return {
    release: () => holds.release(),
    async user(input, log) {
      const parsed = parse(input, log, checkUser, (v) => userSchema.safeParse(v), USER_SHAPE);
      if (typeof parsed === 'string') return invalid(400, parsed, 'authenticate');
      const { fields } = parsed;
      const result = await guard.authenticate({
        clientId: fields.clientid,
        username: fields.username,
        password: input.form?.bytes('password') ?? Buffer.from(fields.password, 'utf8'),
        transport: { tls: false },
      });
      if (result.ok) return decided('authenticate', 'grant');
      const error = result.reason === 'error' || result.reason === 'unavailable';
      return decided('authenticate', error ? 'error' : 'deny', result.reason);
    },

    superuser(input, log) {
      const parsed = parse(input, log, checkSuperuser, (v) => superuserSchema.safeParse(v), SUPERUSER_SHAPE);
      if (typeof parsed === 'string') return invalid(400, parsed, 'superuser');
      const principal = resolve(log, parsed.fields.username, undefined);
      return principal instanceof Promise ? principal.then(superuserReply) : superuserReply(principal);
    },

    acl(input, log) {
      // The fields are read by name from the body, checked in place and not copied (go-auth sends the
      // same four keys every time); the schema words a refusal and has the last word (checkedFields).
      const body = input.body;
      if (isRecord(body)) {
        const { username, clientid, topic } = body;
        const acc = aclAcc(username, clientid, topic, body.acc);
        if (acc !== 0)
          return aclChecked(input, log, username as string, clientid as string, topic as string, acc);
      }
      const fields = checkedFields(body, checkAcl, (v) => aclSchema.safeParse(v), 'body');
      if (typeof fields === 'string') return invalid(400, fields, 'receive');
      return aclChecked(input, log, fields.username, fields.clientid, fields.topic, fields.acc);
    },

    unreadable: (status, message, action) => invalid(status, message, action),
  };

  /** The ACL check of fields the schema takes. */
  function aclChecked(
    input: GoAuthInput,
    log: AdapterLog,
    username: string,
    clientid: string,
    topic: string,
    acc: AclFields['acc'],
  ): AdapterReply | Promise<AdapterReply> {
    const refused = accepted(input, log, ACL_SHAPE);
    if (refused !== undefined) return invalid(400, refused, 'receive');
    // A topic that is not UTF-8 names no MQTT topic; read raw it could escape a deny.
    if (input.form?.undecodable.has('topic')) return decided(ACC_NAME[acc], 'deny', 'invalid');
    const principal = resolve(log, username, clientid);
    return principal instanceof Promise
      ? principal.then((found) => authorized(found, acc, topic))
      : authorized(principal, acc, topic);
  }

  /** Every neutral action of `acc` must be allowed; a refusal the defenses hold is answered later. */
  function authorized(
    principal: Principal | undefined | 'error',
    acc: AclFields['acc'],
    topic: string,
  ): AdapterReply | Promise<AdapterReply> {
    const action = ACC_NAME[acc];
    if (principal === 'error') return decided(action, 'error', 'error');
    if (principal === undefined) return decided(action, 'deny', 'unknown');
    for (const neutral of ACC[acc]) {
      const decision = guard.authorize(principal, {
        action: neutral,
        topic,
        deliveryChecked: neutral === 'subscribe' && deliveryChecked,
      });
      if (decision.reason === 'error') return decided(action, 'error', 'error');
      if (!decision.allowed) {
        const held = holds.wait(decision);
        const reason = decision.reason;
        return held ? held.then(() => decided(action, 'deny', reason)) : decided(action, 'deny', reason);
      }
    }
    return decided(action, 'grant');
  }

  function superuserReply(principal: Principal | undefined | 'error'): AdapterReply {
    if (principal === 'error') return decided('superuser', 'error', 'error');
    return decided('superuser', principal?.superuser === true ? 'grant' : 'deny');
  }

  /** The session's principal, or a promise of it when the resolver must wait; 'error' if it failed. */
  function resolve(
    log: AdapterLog,
    username: string,
    clientId: string | undefined,
  ): Principal | undefined | 'error' | Promise<Principal | undefined | 'error'> {
    if (username === '') return undefined;
    let found: ReturnType<typeof resolver.resolve>;
    try {
      found = resolvePrincipal(resolver, { username, clientId });
    } catch (error) {
      return resolveFailed(log, error);
    }
    return found instanceof Promise ? found.catch((error: unknown) => resolveFailed(log, error)) : found;
  }

  function resolveFailed(log: AdapterLog, error: unknown): 'error' {
    log.error({ err: error }, 'principal resolver failed');
    return 'error';
  }

  /** The fields the schema reads, or the message of a 400. */
  function parse<F>(
    input: GoAuthInput,
    log: AdapterLog,
    fast: (input: unknown) => F | undefined,
    slow: (input: unknown) => SafeParse<F>,
    shape: ReadonlySet<string>,
  ): { fields: F } | string {
    const fields = checkedFields(input.body, fast, slow, 'body');
    if (typeof fields === 'string') return fields;
    return accepted(input, log, shape) ?? { fields };
  }

  /**
   * After the schema took the fields: logs the keys it ignores, and returns the message of a 400 if a
   * form key it reads (but the password and topic, which have their own answers) is not UTF-8.
   */
  function accepted(input: GoAuthInput, log: AdapterLog, shape: ReadonlySet<string>): string | undefined {
    const body = input.body as object;
    // for-in visits every own key (and inherited enumerable ones), without building a list: the list
    // is built only when there may be a key to log.
    for (const key in body) {
      if (shape.has(key)) continue;
      const ignored = Object.keys(body).filter((name) => !shape.has(name));
      if (ignored.length > 0) log.debug({ keys: ignored.slice(0, 20) }, 'go-auth request keys ignored');
      break;
    }
    const form = input.form;
    if (form === undefined) return undefined;
    for (const key of form.undecodable) {
      if (key !== 'password' && key !== 'topic' && shape.has(key)) {
        return `${key}: its percent-escapes do not decode to UTF-8`;
      }
    }
    return undefined;
  }

  // A 4xx is a denial in every go-auth response mode (status is read before the body).
  function invalid(status: number, message: string, action: GoAuthDecisionEvent['action']): AdapterReply {
    report({ action, result: 'invalid' });
    return invalidInputReply(status, message);
  }

  /** The one place a decision becomes a go-auth reply, in the configured response mode. */
  function decided(
    action: GoAuthDecisionEvent['action'],
    result: GoAuthResult,
    reason?: string,
  ): AdapterReply {
    report({ action, result, reason });
    return replies[result];
  }
}

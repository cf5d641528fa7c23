import {
  type AccessRequest,
  type AdapterLog,
  type AdapterReply,
  checkedFields,
  invalidInputReply,
  jsonReply,
  plainFormKeys,
  ReplyHolds,
  readPlainForm,
  type SafeParse,
  textReply,
  UrlEncodedForm,
} from '@mqtt-warden/core';
import { checkAcl, checkSuperuser, checkUser } from './go-auth-checks.js';
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
  superuser(input: GoAuthInput, log: AdapterLog): Promise<AdapterReply>;
  acl(input: GoAuthInput, log: AdapterLog): Promise<AdapterReply>;
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

    async superuser(input, log) {
      const parsed = parse(input, log, checkSuperuser, (v) => superuserSchema.safeParse(v), SUPERUSER_SHAPE);
      if (typeof parsed === 'string') return invalid(400, parsed, 'superuser');
      const principal = await resolve(log, parsed.fields.username, undefined);
      if (principal === 'error') return decided('superuser', 'error', 'error');
      return decided('superuser', principal?.superuser === true ? 'grant' : 'deny');
    },

    async acl(input, log) {
      const parsed = parse(input, log, checkAcl, (v) => aclSchema.safeParse(v), ACL_SHAPE);
      if (typeof parsed === 'string') return invalid(400, parsed, 'receive');
      const { fields } = parsed;
      const action = ACC_NAME[fields.acc];
      // A topic that is not UTF-8 names no MQTT topic; read raw it could escape a deny.
      if (input.form?.undecodable.has('topic')) return decided(action, 'deny', 'invalid');
      const principal = await resolve(log, fields.username, fields.clientid);
      if (principal === 'error') return decided(action, 'error', 'error');
      if (principal === undefined) return decided(action, 'deny', 'unknown');
      for (const neutral of ACC[fields.acc]) {
        const decision = guard.authorize(principal, {
          action: neutral,
          topic: fields.topic,
          deliveryChecked: neutral === 'subscribe' && deliveryChecked,
        });
        if (decision.reason === 'error') return decided(action, 'error', 'error');
        if (!decision.allowed) {
          const held = holds.wait(decision);
          if (held) await held;
          return decided(action, 'deny', decision.reason);
        }
      }
      return decided(action, 'grant');
    },

    unreadable: (status, message, action) => invalid(status, message, action),
  };

  async function resolve(log: AdapterLog, username: string, clientId: string | undefined) {
    if (username === '') return undefined;
    try {
      return await resolver.resolve({ username, clientId });
    } catch (error) {
      log.error({ err: error }, 'principal resolver failed');
      return 'error' as const;
    }
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
    const ignored = Object.keys(input.body as object).filter((key) => !shape.has(key));
    if (ignored.length > 0) log.debug({ keys: ignored.slice(0, 20) }, 'go-auth request keys ignored');
    const undecodable = [...(input.form?.undecodable ?? [])].find(
      (key) => key !== 'password' && key !== 'topic' && shape.has(key),
    );
    if (undecodable !== undefined) return `${undecodable}: its percent-escapes do not decode to UTF-8`;
    return { fields };
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

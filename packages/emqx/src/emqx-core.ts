import {
  type AccessRequest,
  type AdapterLog,
  type AdapterReply,
  type ConnectRequest,
  checkedFields,
  invalidInputReply,
  jsonReply,
  type PlainFormKeys,
  type Principal,
  plainFormKeys,
  type QoS,
  ReplyHolds,
  readPlainForm,
  resolvePrincipal,
  UrlEncodedForm,
} from '@mqtt-warden/core';
import { toEmqxAcl } from './emqx-acl.js';
import { checkAuthn, checkAuthz } from './emqx-checks.js';
import type { EmqxDecisionEvent, EmqxPluginOptions, EmqxResult } from './emqx-plugin.js';
import {
  type AuthnFields,
  type AuthzFields,
  authnSchema,
  authzSchema,
  present,
  type RawEmqxRequest,
  splitJsonRequest,
  splitRequest,
} from './emqx-request.js';

/**
 * An EMQX request as received: the JSON body, or the form of a form body or query string (`body` is
 * then `form.fields`).
 */
export interface EmqxInput {
  readonly body: unknown;
  readonly form?: UrlEncodedForm;
}

/** The EMQX endpoints without a web framework: request fields in, reply out. */
export interface EmqxCore {
  authn(input: EmqxInput, log: AdapterLog): Promise<AdapterReply>;
  /** A decision made without waiting (a remembered session, nothing held) comes back as it is, not in a promise. */
  authz(input: EmqxInput, log: AdapterLog): AdapterReply | Promise<AdapterReply>;
  /** Sends every reply held for the defenses (`Decision.holdMs`) now: call it when the server closes. */
  release(): void;
}

/** EMQX's client attribute key rule; other keys are dropped by EMQX anyway. */
const ATTR_KEY = /^[A-Za-z0-9]+[A-Za-z0-9-_]*$/;

const RESULTS: Record<EmqxResult, AdapterReply> = {
  allow: jsonReply(200, { result: 'allow' }),
  deny: jsonReply(200, { result: 'deny' }),
  ignore: jsonReply(200, { result: 'ignore' }),
};

/** The events of decisions without a reason (allows, mostly), built once: a report per request allocates nothing. */
const PLAIN_EVENTS = plainEvents();

function plainEvents(): Record<EmqxDecisionEvent['action'], Record<EmqxResult, EmqxDecisionEvent>> {
  const of = (action: EmqxDecisionEvent['action']) => ({
    allow: Object.freeze({ action, result: 'allow' as const }),
    deny: Object.freeze({ action, result: 'deny' as const }),
    ignore: Object.freeze({ action, result: 'ignore' as const }),
  });
  return { authenticate: of('authenticate'), publish: of('publish'), subscribe: of('subscribe') };
}

/**
 * Builds the decision logic of {@link emqxPlugin}, which serves it through Fastify; the server's lean
 * path calls it directly.
 *
 * @example
 * ```ts
 * const core = createEmqxCore({ guard, resolver });
 * const reply = await core.authz({ body: JSON.parse(text) }, log); // reply.status, reply.bytes
 * ```
 */
export function createEmqxCore(options: EmqxPluginOptions): EmqxCore {
  const { guard, resolver } = options;
  const unknownUser = options.unknownUser ?? 'deny';
  const onError = options.onError ?? 'deny';
  const aclMode = options.acl ?? 'deny';
  const rename = options.fields ?? {};
  const renaming = Object.keys(rename).length > 0;
  const report = options.onDecision ?? (() => {});
  // Refused replies the defenses hold (Decision.holdMs); release() sends them at once on close.
  const holds = new ReplyHolds();

  return {
    release: () => holds.release(),

    async authn(input, log) {
      const parsed = parse(input, log, checkAuthn, (v: unknown) => authnSchema.safeParse(v), AUTHN_SHAPE);
      if (typeof parsed === 'string') return invalid(parsed, 'authenticate');
      const connect = toConnectRequest(parsed.fields, parsed.clientAttrs, parsed.password);
      const result = await guard.authenticate(connect);
      if (result.ok) {
        const session = resolver.attributesFor?.(connect, result.principal);
        return decided('authenticate', 'allow', undefined, authnAllow(result.principal, session));
      }
      const answer =
        result.reason === 'no-authenticator'
          ? unknownUser
          : result.reason === 'error' || result.reason === 'unavailable'
            ? onError
            : 'deny';
      return decided('authenticate', answer, result.reason);
    },

    authz(input, log) {
      const parsed = parse(input, log, checkAuthz, (v: unknown) => authzSchema.safeParse(v), AUTHZ_SHAPE);
      if (typeof parsed === 'string') return invalid(parsed, 'publish');
      const access = toAccessRequest(parsed.fields);
      if (typeof access === 'string') return invalid(access, 'publish');
      const action = access.action as 'publish' | 'subscribe';
      // `cmd/%FF` must not become some other topic (or one level): no such topic can be allowed.
      if (parsed.undecodableTopic) return decided(action, 'deny', 'invalid');
      // A remembered session is answered at once: no promise for a cached decision (the lean path then
      // writes the reply in this turn). A resolver that waits is followed through its promise.
      let found: Principal | undefined | Promise<Principal | undefined>;
      try {
        found = resolvePrincipal(resolver, {
          username: present(parsed.fields.username),
          clientId: parsed.fields.clientid ?? '',
          remoteAddress: present(parsed.fields.peerhost),
          attributes: parsed.clientAttrs,
        });
      } catch (error) {
        return resolverFailed(error, action, log);
      }
      if (found instanceof Promise) {
        return found.then(
          (principal) => authorized(principal, access, action),
          (error: unknown) => resolverFailed(error, action, log),
        );
      }
      return authorized(found, access, action);
    },
  };

  function resolverFailed(error: unknown, action: 'publish' | 'subscribe', log: AdapterLog): AdapterReply {
    log.error({ err: error }, 'principal resolver failed');
    return decided(action, onError, 'error');
  }

  function authorized(
    principal: Principal | undefined,
    access: AccessRequest,
    action: 'publish' | 'subscribe',
  ): AdapterReply | Promise<AdapterReply> {
    if (principal === undefined) return decided(action, unknownUser, 'unknown');
    const decision = guard.authorize(principal, access);
    if (decision.allowed) return decided(action, 'allow');
    const refused = () => decided(action, decision.reason === 'error' ? onError : 'deny', decision.reason);
    const held = holds.wait(decision);
    return held ? held.then(refused) : refused();
  }

  /**
   * The one place a decision becomes an EMQX reply (allow, deny or ignore), reported for metrics.
   * `body`: an authn allow's own body (superuser flag, attributes, ACL).
   */
  function decided(
    action: EmqxDecisionEvent['action'],
    result: EmqxResult,
    reason?: string,
    body?: Record<string, unknown>,
  ): AdapterReply {
    report(reason === undefined ? PLAIN_EVENTS[action][result] : { action, result, reason });
    return body === undefined ? RESULTS[result] : jsonReply(200, body);
  }

  /** `session`: the resolver's attributes for EMQX to carry (a session ticket); they win over the principal's. */
  function authnAllow(principal: Principal, session: Readonly<Record<string, string>> | undefined) {
    const body: Record<string, unknown> = { result: 'allow', is_superuser: principal.superuser === true };
    const attrs: Record<string, string> = {};
    for (const [key, value] of [...Object.entries(principal.attributes), ...Object.entries(session ?? {})]) {
      if (typeof value === 'string' && ATTR_KEY.test(key)) attrs[key] = value;
    }
    if (Object.keys(attrs).length > 0) body.client_attrs = attrs;
    if (principal.expiresAt !== undefined) body.expire_at = Math.floor(principal.expiresAt / 1000);
    const acl = toEmqxAcl(principal, aclMode);
    if (acl.length > 0) body.acl = acl;
    return body;
  }

  function parse<F>(
    input: EmqxInput,
    log: AdapterLog,
    fast: (input: unknown) => F | undefined,
    slow: Parameters<typeof checkedFields<F>>[2],
    shape: ReadonlySet<string>,
  ): Parsed<F> | string {
    const { form } = input;
    const split =
      form === undefined && !renaming ? splitJsonRequest(input.body) : splitRequest(input.body, rename);
    if (typeof split === 'string') return split;
    const fields = checkedFields(split.fields, fast, slow, 'request');
    if (typeof fields === 'string') return fields;
    if (ignoresAny(split.fields, shape)) {
      const ignored = Object.keys(split.fields).filter((name) => !shape.has(name));
      log.debug({ keys: ignored.slice(0, 20) }, 'EMQX request keys ignored');
    }
    const key = (name: string) => split.keys[name] ?? name;
    if (form) {
      for (const name of Object.keys(split.keys)) {
        if (name === 'password' || name === 'topic' || !form.undecodable.has(key(name))) continue;
        if (shape.has(name) || name.startsWith('client_attrs.')) {
          return `${key(name)}: its percent-escapes do not decode to UTF-8`;
        }
      }
    }
    const text = (fields as { password?: string }).password;
    return {
      fields,
      clientAttrs: split.clientAttrs,
      password: form
        ? form.bytes(key('password'))
        : text === undefined
          ? undefined
          : Buffer.from(text, 'utf8'),
      undecodableTopic: form?.undecodable.has(key('topic')) === true,
    };
  }

  function invalid(message: string, action: EmqxDecisionEvent['action']): AdapterReply {
    report({ action, result: 'invalid' });
    // EMQX reads any non-200 as "ignore"/"nomatch": set authorization.no_match = deny (see examples/emqx).
    return invalidInputReply(400, message);
  }
}

const AUTHN_SHAPE: ReadonlySet<string> = new Set(Object.keys(authnSchema.shape));
const AUTHZ_SHAPE: ReadonlySet<string> = new Set(Object.keys(authzSchema.shape));
const FORM_KEYS = plainFormKeys([...new Set([...AUTHN_SHAPE, ...AUTHZ_SHAPE])]);

/**
 * The keys of a JSON body the lean path reads without `JSON.parse` (`readPlainJson`): the placeholder
 * names and, with `fields` renaming, the template's own keys; undefined when those cannot all be plain
 * keys (the general path then reads every body). Any key set is safe, since `readPlainJson` gives
 * exactly the general path's value or nothing: the set only decides which bodies take the shortcut. A
 * body with any other key (one the core logs as ignored) takes the general path.
 *
 * @example
 * ```ts
 * const keys = emqxJsonKeys(options.fields); // readPlainJson(body, keys) ?? secureJsonParse(text)
 * ```
 */
export function emqxJsonKeys(fields: Readonly<Record<string, string>> = {}): PlainFormKeys | undefined {
  const renamed = Object.keys(fields);
  if (renamed.length === 0) return FORM_KEYS;
  try {
    return plainFormKeys([...new Set([...FORM_KEYS.names, ...renamed])]);
  } catch {
    // A template key a plain body cannot carry (or more than 31 keys): no shortcut.
    return undefined;
  }
}

/**
 * The input of a POST form body. A plain one (placeholder keys, ASCII: see `readPlainForm`) is read as
 * its JSON twin: the same string values, none undecodable, the password's text its bytes; any other is
 * parsed as a form, as the Fastify route parses it.
 *
 * @example
 * ```ts
 * await core.authz(emqxFormInput(Buffer.from('username=dev1&topic=a%2Fb&action=publish')), log);
 * ```
 */
export function emqxFormInput(body: Buffer): EmqxInput {
  const plain = readPlainForm(body, FORM_KEYS);
  if (plain !== undefined) return { body: plain };
  const form = UrlEncodedForm.parse(body);
  return { body: form.fields, form };
}

/** True when `fields` has an own key outside `shape`; walks the keys without building their list. */
function ignoresAny(fields: Record<string, unknown>, shape: ReadonlySet<string>): boolean {
  for (const name in fields) if (!shape.has(name) && Object.hasOwn(fields, name)) return true;
  return false;
}

/** A request's fields, with the password as the bytes EMQX sent. */
interface Parsed<F> {
  readonly fields: F;
  readonly clientAttrs: RawEmqxRequest['clientAttrs'];
  readonly password: Buffer | undefined;
  /** The topic's percent-escapes are not UTF-8: it names no MQTT topic. */
  readonly undecodableTopic: boolean;
}

function toConnectRequest(
  fields: AuthnFields,
  clientAttrs: Record<string, string>,
  password: Buffer | undefined,
): ConnectRequest {
  const pem = present(fields.cert_pem);
  const port = present(fields.peerport);
  return {
    clientId: fields.clientid ?? '',
    username: present(fields.username),
    password,
    transport: {
      remoteAddress: present(fields.peerhost),
      remotePort: port === undefined ? undefined : Number(port),
      tls: pem !== undefined || present(fields.cert_subject) !== undefined,
      peerCertificates: pem === undefined ? undefined : [Buffer.from(pem, 'base64')],
    },
    listener: present(fields.zone) ?? present(fields.listener),
    attributes: clientAttrs,
  };
}

/** `access` is EMQX's legacy code: "1" subscribe, "2" publish. */
function toAccessRequest(fields: AuthzFields): AccessRequest | string {
  const action =
    fields.action ?? (fields.access === '1' ? 'subscribe' : fields.access === '2' ? 'publish' : undefined);
  if (action === undefined) return 'action: required (put "action": "${action}" in the EMQX body template)';
  if (
    fields.action !== undefined &&
    fields.access !== undefined &&
    fields.action !== (fields.access === '1' ? 'subscribe' : 'publish')
  ) {
    return 'action and access disagree';
  }
  const qos = present(fields.qos);
  const retain = present(fields.retain);
  return {
    action,
    topic: fields.topic,
    qos: qos === undefined ? undefined : (Number(qos) as QoS),
    retain: action === 'publish' && retain !== undefined ? retain === 'true' : undefined,
  };
}

import {
  type AccessRequest,
  type ConnectRequest,
  formatIssues,
  type Guard,
  type Principal,
  type PrincipalResolver,
  type QoS,
  ReplyHolds,
  UrlEncodedForm,
} from '@mqtt-warden/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { z } from 'zod';
import { type AclExport, toEmqxAcl } from './emqx-acl.js';
import {
  type AuthnFields,
  type AuthzFields,
  authnSchema,
  authzSchema,
  present,
  type RawEmqxRequest,
  splitRequest,
} from './emqx-request.js';

/** What EMQX makes of our reply: `ignore` passes the request to its next authenticator or source. */
export type EmqxResult = 'allow' | 'deny' | 'ignore';

/** Reported once per answered request, for metrics. */
export interface EmqxDecisionEvent {
  readonly action: 'authenticate' | 'publish' | 'subscribe';
  readonly result: EmqxResult | 'invalid';
  /** Why, when not allowed: `unknown`, `error`, or the guard's deny reason. */
  readonly reason?: string;
}

export interface EmqxPluginOptions {
  readonly guard: Guard;
  /**
   * Finds the principal of a connected client's session for authorization requests. Its `attributesFor`
   * values (a session ticket) go into the authn reply's `client_attrs`; the `client_attrs.NAME` fields of
   * an authz request come back to it as `attributes`.
   */
  readonly resolver: PrincipalResolver;
  /** Route paths; `false` leaves a route out. Defaults `/emqx/authn` and `/emqx/authz`. */
  readonly paths?: { readonly authn?: string | false; readonly authz?: string | false };
  /**
   * Answer for a client no authenticator knows (authn) or the resolver cannot find (authz).
   * Default `deny`. `ignore` lets EMQX try its next authenticator or source; note that for authz an
   * ignore ends in `authorization.no_match`, which is `allow` unless set to `deny`.
   */
  readonly unknownUser?: 'deny' | 'ignore';
  /** Answer when a verifier, the resolver or the policy fails. Default `deny`. */
  readonly onError?: 'deny' | 'ignore';
  /** Which principal rules go into the authn reply's `acl`; see {@link AclExport}. Default `deny`. */
  readonly acl?: AclExport;
  /** Keys of a user body/query template → placeholder names, e.g. `{ user: 'username' }`. */
  readonly fields?: Readonly<Record<string, string>>;
  readonly onDecision?: (event: EmqxDecisionEvent) => void;
}

/** EMQX's client attribute key rule; other keys are dropped by EMQX anyway. */
const ATTR_KEY = /^[A-Za-z0-9]+[A-Za-z0-9-_]*$/;

/**
 * EMQX 5 HTTP authentication and authorization endpoints, GET (query) or POST (JSON or form).
 *
 * @example
 * ```ts
 * const app = Fastify();
 * await app.register(emqxPlugin, { guard, resolver });
 * // emqx.conf: authentication = [{ mechanism = password_based, backend = http, method = post,
 * //   url = "http://127.0.0.1:8080/emqx/authn", body { username = "${username}", password = "${password}", clientid = "${clientid}" } }]
 * ```
 */
export const emqxPlugin = fp<EmqxPluginOptions>(
  async (app: FastifyInstance, options: EmqxPluginOptions) => {
    const { guard, resolver } = options;
    const unknownUser = options.unknownUser ?? 'deny';
    const onError = options.onError ?? 'deny';
    const aclMode = options.acl ?? 'deny';
    const rename = options.fields ?? {};
    const report = options.onDecision ?? (() => {});
    // Refused replies the defenses hold (Decision.holdMs) go out at once when the server closes.
    const holds = new ReplyHolds();
    app.addHook('preClose', async () => holds.release());
    // This plugin's own scope reads forms as bytes: passwords are bytes, other values must be UTF-8.
    if (app.hasContentTypeParser(FORM)) app.removeContentTypeParser(FORM);
    app.addContentTypeParser(FORM, { parseAs: 'buffer' }, (_request, body, done) =>
      done(null, UrlEncodedForm.parse(body as Buffer)),
    );

    const authnPath = options.paths?.authn ?? '/emqx/authn';
    const authzPath = options.paths?.authz ?? '/emqx/authz';

    if (authnPath !== false) {
      app.route({
        method: ['GET', 'POST'],
        url: authnPath,
        handler: async (request, reply) => {
          const parsed = parse(request, authnSchema);
          if (typeof parsed === 'string') return invalid(reply, parsed, 'authenticate');
          const connect = toConnectRequest(parsed.fields, parsed.clientAttrs, parsed.password);
          const result = await guard.authenticate(connect);
          if (result.ok) {
            report({ action: 'authenticate', result: 'allow' });
            return reply.send(
              authnAllow(result.principal, resolver.attributesFor?.(connect, result.principal)),
            );
          }
          const answer =
            result.reason === 'no-authenticator'
              ? unknownUser
              : result.reason === 'error' || result.reason === 'unavailable'
                ? onError
                : 'deny';
          report({ action: 'authenticate', result: answer, reason: result.reason });
          return reply.send({ result: answer });
        },
      });
    }

    if (authzPath !== false) {
      app.route({
        method: ['GET', 'POST'],
        url: authzPath,
        handler: async (request, reply) => {
          const parsed = parse(request, authzSchema);
          if (typeof parsed === 'string') return invalid(reply, parsed, 'publish');
          const access = toAccessRequest(parsed.fields);
          if (typeof access === 'string') return invalid(reply, access, 'publish');
          const action = access.action as 'publish' | 'subscribe';
          if (parsed.undecodableTopic) {
            // `cmd/%FF` must not become some other topic (or one level): no such topic can be allowed.
            report({ action, result: 'deny', reason: 'invalid' });
            return reply.send({ result: 'deny' });
          }
          let principal: Principal | undefined;
          try {
            principal = await resolver.resolve({
              username: present(parsed.fields.username),
              clientId: parsed.fields.clientid ?? '',
              remoteAddress: present(parsed.fields.peerhost),
              attributes: parsed.clientAttrs,
            });
          } catch (error) {
            request.log.error({ err: error }, 'principal resolver failed');
            report({ action, result: onError, reason: 'error' });
            return reply.send({ result: onError });
          }
          if (principal === undefined) {
            report({ action, result: unknownUser, reason: 'unknown' });
            return reply.send({ result: unknownUser });
          }
          const decision = guard.authorize(principal, access);
          const result: EmqxResult = decision.allowed
            ? 'allow'
            : decision.reason === 'error'
              ? onError
              : 'deny';
          report({ action, result, reason: decision.allowed ? undefined : decision.reason });
          await holds.wait(decision);
          return reply.send({ result });
        },
      });
    }

    /** `session`: the resolver's attributes for EMQX to carry (a session ticket); they win over the principal's. */
    function authnAllow(principal: Principal, session: Readonly<Record<string, string>> | undefined) {
      const body: Record<string, unknown> = { result: 'allow', is_superuser: principal.superuser === true };
      const attrs: Record<string, string> = {};
      for (const [key, value] of [
        ...Object.entries(principal.attributes),
        ...Object.entries(session ?? {}),
      ]) {
        if (typeof value === 'string' && ATTR_KEY.test(key)) attrs[key] = value;
      }
      if (Object.keys(attrs).length > 0) body.client_attrs = attrs;
      if (principal.expiresAt !== undefined) body.expire_at = Math.floor(principal.expiresAt / 1000);
      const acl = toEmqxAcl(principal, aclMode);
      if (acl.length > 0) body.acl = acl;
      return body;
    }

    function parse<S extends z.ZodObject>(request: FastifyRequest, schema: S): Parsed<z.infer<S>> | string {
      const form =
        request.method === 'GET'
          ? UrlEncodedForm.ofUrl(request.url)
          : request.body instanceof UrlEncodedForm
            ? request.body
            : undefined;
      const split = splitRequest(form ? form.fields : request.body, rename);
      if (typeof split === 'string') return split;
      const result = schema.safeParse(split.fields);
      if (!result.success) return formatIssues(result.error.issues, 'request');
      const ignored = Object.keys(split.fields).filter((name) => !Object.hasOwn(schema.shape, name));
      if (ignored.length > 0) request.log.debug({ keys: ignored.slice(0, 20) }, 'EMQX request keys ignored');
      const key = (name: string) => split.keys[name] ?? name;
      for (const name of Object.keys(split.keys)) {
        if (name === 'password' || name === 'topic' || !form?.undecodable.has(key(name))) continue;
        if (Object.hasOwn(schema.shape, name) || name.startsWith('client_attrs.')) {
          return `${key(name)}: its percent-escapes do not decode to UTF-8`;
        }
      }
      const text = (result.data as { password?: string }).password;
      return {
        fields: result.data,
        clientAttrs: split.clientAttrs,
        password: form
          ? form.bytes(key('password'))
          : text === undefined
            ? undefined
            : Buffer.from(text, 'utf8'),
        undecodableTopic: form?.undecodable.has(key('topic')) === true,
      };
    }

    function invalid(reply: FastifyReply, message: string, action: EmqxDecisionEvent['action']) {
      report({ action, result: 'invalid' });
      // EMQX reads any non-200 as "ignore"/"nomatch": set authorization.no_match = deny (see examples/emqx).
      return reply.code(400).send({ error: 'ERR_INVALID_INPUT', message });
    }
  },
  // Encapsulated: the form parser above is for these routes only.
  { fastify: '5.x', name: '@mqtt-warden/emqx', encapsulate: true },
);

const FORM = 'application/x-www-form-urlencoded';

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

import { type Guard, type PrincipalResolver, UrlEncodedForm, writeReply } from '@mqtt-warden/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { AclExport } from './emqx-acl.js';
import { createEmqxCore, type EmqxInput } from './emqx-core.js';

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
    const core = createEmqxCore(options);
    // Held refused replies (Decision.holdMs) go out at once when the server closes.
    app.addHook('preClose', async () => core.release());
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
        handler: async (request, reply) => writeReply(reply, await core.authn(inputOf(request), request.log)),
      });
    }
    if (authzPath !== false) {
      app.route({
        method: ['GET', 'POST'],
        url: authzPath,
        handler: async (request, reply) => writeReply(reply, await core.authz(inputOf(request), request.log)),
      });
    }
  },
  // Encapsulated: the form parser above is for these routes only.
  { fastify: '5.x', name: '@mqtt-warden/emqx', encapsulate: true },
);

/** The query of a GET, the form or JSON value of a POST. */
function inputOf(request: FastifyRequest): EmqxInput {
  const form =
    request.method === 'GET'
      ? UrlEncodedForm.ofUrl(request.url)
      : request.body instanceof UrlEncodedForm
        ? request.body
        : undefined;
  return form ? { body: form.fields, form } : { body: request.body };
}

const FORM = 'application/x-www-form-urlencoded';

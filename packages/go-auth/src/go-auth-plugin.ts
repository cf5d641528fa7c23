import { type Guard, type PrincipalResolver, UrlEncodedForm, writeReply } from '@mqtt-warden/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { createGoAuthCore, type GoAuthCore, type GoAuthInput } from './go-auth-core.js';
import { BodyError, requestBody } from './request-body.js';

/** go-auth's `http_response_mode`. */
export type ResponseMode = 'status' | 'text' | 'json';

/** go-auth's three results: granted, rejected, error (an error makes Mosquitto disconnect the client). */
export type GoAuthResult = 'grant' | 'deny' | 'error';

export interface GoAuthDecisionEvent {
  readonly action: 'authenticate' | 'superuser' | 'publish' | 'subscribe' | 'receive' | 'readwrite';
  readonly result: GoAuthResult | 'invalid';
  readonly reason?: string;
}

export interface GoAuthPluginOptions {
  readonly guard: Guard;
  /** Rebuilds the principal for superuser and ACL checks (go-auth sends no password there). */
  readonly resolver: PrincipalResolver;
  /** Must match `auth_opt_http_response_mode`. Default `status`, as in go-auth. */
  readonly responseMode?: ResponseMode;
  /** Route paths (`auth_opt_http_getuser_uri` …); `false` leaves one out. */
  readonly paths?: {
    readonly user?: string | false;
    readonly superuser?: string | false;
    readonly acl?: string | false;
  };
  /**
   * Mosquitto asks READ (`acc=1`) before every delivery, retained messages included, so by default a
   * subscription (`acc=4`) covered by an allow is granted even if it overlaps a receive deny: the denied
   * deliveries are refused one by one. `false` refuses such subscriptions instead (strict), for setups
   * where the READ check may not reach this server (another go-auth backend or an `acl_file` answers it).
   */
  readonly deliveryChecked?: boolean;
  readonly onDecision?: (event: GoAuthDecisionEvent) => void;
}

/**
 * mosquitto-go-auth HTTP backend endpoints (user, superuser, acl), JSON or form parameters,
 * POST, GET (with a body, as go-auth sends it) or PUT.
 *
 * @example
 * ```ts
 * await app.register(goAuthPlugin, { guard, resolver, responseMode: 'json' });
 * // mosquitto.conf: auth_opt_http_getuser_uri /mosquitto/user, auth_opt_http_response_mode json …
 * ```
 */
export const goAuthPlugin = fp<GoAuthPluginOptions>(
  async (app: FastifyInstance, options: GoAuthPluginOptions) => {
    const core = createGoAuthCore(options);
    // Held refused replies (Decision.holdMs) go out at once when the server closes.
    app.addHook('preClose', async () => core.release());
    const limit = app.initialConfig.bodyLimit ?? 1_048_576;
    // This plugin's own scope reads forms as bytes: passwords are bytes, other values must be UTF-8.
    if (app.hasContentTypeParser(FORM)) app.removeContentTypeParser(FORM);
    app.addContentTypeParser(FORM, { parseAs: 'buffer' }, (_request, body, done) =>
      done(null, UrlEncodedForm.parse(body as Buffer)),
    );

    const route = (
      path: string | false | undefined,
      fallback: string,
      endpoint: 'user' | 'superuser' | 'acl',
      action: GoAuthDecisionEvent['action'],
    ) => {
      if (path === false) return;
      app.route({
        method: ['GET', 'POST', 'PUT'],
        url: path ?? fallback,
        handler: async (request: FastifyRequest, reply: FastifyReply) => {
          const input = await inputOf(request, limit, core, action);
          return writeReply(reply, 'status' in input ? input : await core[endpoint](input, request.log));
        },
      });
    };
    route(options.paths?.user, '/mosquitto/user', 'user', 'authenticate');
    route(options.paths?.superuser, '/mosquitto/superuser', 'superuser', 'superuser');
    route(options.paths?.acl, '/mosquitto/acl', 'acl', 'receive');
  },
  // Encapsulated: the form parser above is for these routes only.
  { fastify: '5.x', name: '@mqtt-warden/go-auth', encapsulate: true },
);

/** The request's parameters, or the reply to a body that cannot be read. */
async function inputOf(
  request: FastifyRequest,
  limit: number,
  core: GoAuthCore,
  action: GoAuthDecisionEvent['action'],
): Promise<GoAuthInput | ReturnType<GoAuthCore['unreadable']>> {
  try {
    const body = await requestBody(request, limit);
    return body instanceof UrlEncodedForm ? { body: body.fields, form: body } : { body };
  } catch (error) {
    if (!(error instanceof BodyError)) throw error;
    return core.unreadable(error.statusCode, error.message, action);
  }
}

const FORM = 'application/x-www-form-urlencoded';

import {
  type AccessRequest,
  formatIssues,
  type Guard,
  type PrincipalResolver,
  ReplyHolds,
  UrlEncodedForm,
} from '@mqtt-warden/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { z } from 'zod';
import { type AclFields, aclSchema, superuserSchema, userSchema } from './go-auth-request.js';
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

/** go-auth `acc` → the neutral actions that must all be allowed. 3 (readwrite) is never sent by go-auth. */
const ACC: Record<AclFields['acc'], readonly AccessRequest['action'][]> = {
  1: ['receive'],
  2: ['publish'],
  3: ['receive', 'publish'],
  4: ['subscribe'],
};
const ACC_NAME = { 1: 'receive', 2: 'publish', 3: 'readwrite', 4: 'subscribe' } as const;

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
    const { guard, resolver } = options;
    const mode = options.responseMode ?? 'status';
    const deliveryChecked = options.deliveryChecked ?? true;
    const report = options.onDecision ?? (() => {});
    const limit = app.initialConfig.bodyLimit ?? 1_048_576;
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
      app.route({ method: ['GET', 'POST', 'PUT'], url: path ?? fallback, handler });
    };

    route(options.paths?.user, '/mosquitto/user', async (request, reply) => {
      const parsed = await parse(request, reply, userSchema, 'authenticate');
      if (!parsed) return reply;
      const { fields } = parsed;
      const result = await guard.authenticate({
        clientId: fields.clientid,
        username: fields.username,
        password: parsed.form?.bytes('password') ?? Buffer.from(fields.password, 'utf8'),
        transport: { tls: false },
      });
      if (result.ok) return answer(reply, 'authenticate', 'grant');
      const error = result.reason === 'error' || result.reason === 'unavailable';
      return answer(reply, 'authenticate', error ? 'error' : 'deny', result.reason);
    });

    route(options.paths?.superuser, '/mosquitto/superuser', async (request, reply) => {
      const fields = (await parse(request, reply, superuserSchema, 'superuser'))?.fields;
      if (!fields) return reply;
      const principal = await resolve(request, fields.username, undefined);
      if (principal === 'error') return answer(reply, 'superuser', 'error', 'error');
      return answer(reply, 'superuser', principal?.superuser === true ? 'grant' : 'deny');
    });

    route(options.paths?.acl, '/mosquitto/acl', async (request, reply) => {
      const parsed = await parse(request, reply, aclSchema, 'receive');
      if (!parsed) return reply;
      const { fields } = parsed;
      const action = ACC_NAME[fields.acc];
      // A topic that is not UTF-8 names no MQTT topic; read raw it could escape a deny.
      if (parsed.form?.undecodable.has('topic')) return answer(reply, action, 'deny', 'invalid');
      const principal = await resolve(request, fields.username, fields.clientid);
      if (principal === 'error') return answer(reply, action, 'error', 'error');
      if (principal === undefined) return answer(reply, action, 'deny', 'unknown');
      for (const neutral of ACC[fields.acc]) {
        const decision = guard.authorize(principal, {
          action: neutral,
          topic: fields.topic,
          deliveryChecked: neutral === 'subscribe' && deliveryChecked,
        });
        if (decision.reason === 'error') return answer(reply, action, 'error', 'error');
        if (!decision.allowed) {
          await holds.wait(decision);
          return answer(reply, action, 'deny', decision.reason);
        }
      }
      return answer(reply, action, 'grant');
    });

    async function resolve(request: FastifyRequest, username: string, clientId: string | undefined) {
      if (username === '') return undefined;
      try {
        return await resolver.resolve({ username, clientId });
      } catch (error) {
        request.log.error({ err: error }, 'principal resolver failed');
        return 'error' as const;
      }
    }

    /** The fields the schema reads; `form` when they came as a form, for bytes and encoding checks. */
    async function parse<S extends z.ZodObject>(
      request: FastifyRequest,
      reply: FastifyReply,
      schema: S,
      action: GoAuthDecisionEvent['action'],
    ): Promise<{ fields: z.infer<S>; form?: UrlEncodedForm } | undefined> {
      let body: unknown;
      try {
        body = await requestBody(request, limit);
      } catch (error) {
        if (!(error instanceof BodyError)) throw error;
        invalid(reply, error.statusCode, error.message, action);
        return undefined;
      }
      const form = body instanceof UrlEncodedForm ? body : undefined;
      const input = form ? form.fields : body;
      const result = schema.safeParse(input);
      if (!result.success) {
        invalid(reply, 400, formatIssues(result.error.issues, 'body'), action);
        return undefined;
      }
      const ignored = Object.keys(input as object).filter((key) => !Object.hasOwn(schema.shape, key));
      if (ignored.length > 0)
        request.log.debug({ keys: ignored.slice(0, 20) }, 'go-auth request keys ignored');
      const undecodable = [...(form?.undecodable ?? [])].find(
        (key) => key !== 'password' && key !== 'topic' && Object.hasOwn(schema.shape, key),
      );
      if (undecodable !== undefined) {
        invalid(reply, 400, `${undecodable}: its percent-escapes do not decode to UTF-8`, action);
        return undefined;
      }
      return { fields: result.data, form };
    }

    // A 4xx is a denial in every go-auth response mode (status is read before the body).
    function invalid(
      reply: FastifyReply,
      status: number,
      message: string,
      action: GoAuthDecisionEvent['action'],
    ) {
      report({ action, result: 'invalid' });
      reply.code(status).send({ error: 'ERR_INVALID_INPUT', message });
    }

    function answer(
      reply: FastifyReply,
      action: GoAuthDecisionEvent['action'],
      result: GoAuthResult,
      reason?: string,
    ) {
      report({ action, result, reason });
      // 5xx is go-auth's "error": Mosquitto then refuses the CONNECT or disconnects the client.
      if (result === 'error') {
        return mode === 'json'
          ? reply.code(500).send({ ok: false, error: 'internal error' })
          : reply.code(500).type('text/plain').send('error');
      }
      const granted = result === 'grant';
      if (mode === 'json') return reply.send({ ok: granted, error: granted ? '' : 'not authorized' });
      if (mode === 'text') return reply.type('text/plain').send(granted ? 'ok' : 'denied');
      return reply
        .code(granted ? 200 : 403)
        .type('text/plain')
        .send(granted ? '' : 'denied');
    }
  },
  // Encapsulated: the form parser above is for these routes only.
  { fastify: '5.x', name: '@mqtt-warden/go-auth', encapsulate: true },
);

const FORM = 'application/x-www-form-urlencoded';

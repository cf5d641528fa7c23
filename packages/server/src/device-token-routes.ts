import { type ConnectRequest, formatIssues, type Guard } from '@mqtt-warden/core';
import type { DeviceTokenIssuer } from '@mqtt-warden/jwt';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';

/** Options of {@link deviceTokenRoutes}. */
export interface DeviceTokenRoutesOptions {
  /** Runs the authenticator chain on the device's credentials. */
  readonly guard: Guard;
  readonly issuer: DeviceTokenIssuer;
  /** Token endpoint. */
  readonly path: string;
  /** Where the issuer's public keys are published. */
  readonly jwksPath: string;
  /** Called for every token request with its outcome (metrics). */
  readonly onRequest?: (result: 'allow' | 'deny' | 'invalid' | 'error') => void;
}

/** The token request body: the MQTT client id the token will be bound to. */
const tokenRequest = z.strictObject({
  client_id: z
    .string()
    .min(1, 'must not be empty')
    .max(65_535)
    // An MQTT client id is a UTF-8 string without U+0000: a token for any other could never be used.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 is what is refused
    .refine((id) => !/[\u0000\uD800-\uDFFF]/u.test(id), 'must be valid UTF-8 without U+0000'),
});

/** A token request carries a client id and Basic credentials: a few hundred bytes. */
const BODY_LIMIT = 4096;
const BASIC = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const CHALLENGE = 'Basic realm="mqtt-warden", charset="UTF-8"';

/**
 * Mounts the device token endpoint and its JWKS:
 *
 * - `POST {path}` with `Authorization: Basic base64(USERNAME:PASSWORD)` — the username and password the
 *   device would put in its MQTT CONNECT (an empty username for password-only credentials such as SAS
 *   tokens) — and the body `client_id=ID` (form) or `{"client_id":"ID"}` (JSON). The credentials go
 *   through the guard's authenticator chain and the policy's connect rules exactly as a CONNECT with
 *   that client id would. Answers `200 { access_token, token_type: "Bearer", expires_in }` with
 *   `Cache-Control: no-store`; `401` when the chain refuses (or the credentials are themselves a device
 *   token: tokens are not renewed by tokens); `400` for a malformed request; `503` when a verifier's
 *   backend is down. Never a token on any error.
 * - `GET {jwksPath}` — the issuer's current and still-valid retired public keys.
 *
 * The device then connects with client id ID, the same username, and the token as its password.
 *
 * @example
 * ```ts
 * deviceTokenRoutes(app, { guard, issuer, path: '/token', jwksPath: '/.well-known/jwks.json' });
 * // curl -u dev1:secret -d client_id=dev1 http://127.0.0.1:8080/token
 * ```
 */
export function deviceTokenRoutes(app: FastifyInstance, options: DeviceTokenRoutesOptions): void {
  const { guard, issuer } = options;
  const report = options.onRequest ?? (() => {});
  if (!app.hasContentTypeParser('application/x-www-form-urlencoded')) {
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_request, body, done) => {
        const fields = new URLSearchParams(body as string);
        // A repeated field becomes a list, which the schema refuses: no "last one wins".
        const entries = [...new Set(fields.keys())].map((key) => {
          const values = fields.getAll(key);
          return [key, values.length === 1 ? values[0] : values];
        });
        done(null, Object.fromEntries(entries));
      },
    );
  }

  app.post(options.path, { bodyLimit: BODY_LIMIT }, async (request, reply) => {
    const credentials = basicCredentials(request.headers.authorization);
    if (credentials === undefined) {
      report('deny');
      return refuse(reply, 'send the device credentials as HTTP Basic authentication (username:password)');
    }
    if (request.body !== undefined && (typeof request.body !== 'object' || request.body === null)) {
      report('invalid');
      return reply.code(415).send({
        error: 'ERR_INVALID_INPUT',
        message: 'send client_id as an application/x-www-form-urlencoded or application/json body',
      });
    }
    const body = tokenRequest.safeParse(request.body ?? {});
    if (!body.success) {
      report('invalid');
      return reply
        .code(400)
        .send({ error: 'ERR_INVALID_INPUT', message: formatIssues(body.error.issues, 'body') });
    }
    const connect: ConnectRequest = {
      clientId: body.data.client_id,
      username: credentials.username,
      password: credentials.password,
      transport: { remoteAddress: request.ip, tls: request.protocol === 'https' },
    };
    const result = await guard.authenticate(connect);
    if (!result.ok) {
      if (result.reason === 'unavailable' || result.reason === 'error') {
        report('error');
        return reply.code(result.reason === 'unavailable' ? 503 : 500).send({
          error: result.reason === 'unavailable' ? 'ERR_UNAVAILABLE' : 'ERR_INTERNAL',
          message: 'try again later',
        });
      }
      report('deny');
      return refuse(reply, 'the credentials were refused');
    }
    if (result.principal.method === 'device-token') {
      report('deny');
      return refuse(
        reply,
        "a device token cannot be exchanged for another; use the device's own credentials",
      );
    }
    const token = await issuer.issue(result.principal);
    report('allow');
    return reply
      .header('cache-control', 'no-store')
      .header('pragma', 'no-cache')
      .send({ access_token: token.token, token_type: token.tokenType, expires_in: token.expiresIn });
  });

  app.get(options.jwksPath, async (_request, reply) => reply.type('application/json').send(issuer.jwks()));
}

function refuse(reply: FastifyReply, message: string) {
  return reply.code(401).header('www-authenticate', CHALLENGE).send({ error: 'ERR_UNAUTHORIZED', message });
}

/** RFC 7617: the user-id ends at the first colon; the password is kept as raw bytes (MQTT passwords are binary). */
function basicCredentials(
  header: string | undefined,
): { username: string | undefined; password: Uint8Array } | undefined {
  const match = header === undefined ? null : BASIC.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1] as string, 'base64');
  const colon = decoded.indexOf(0x3a);
  if (colon < 0) return undefined;
  let username: string;
  try {
    username = utf8.decode(decoded.subarray(0, colon));
  } catch {
    return undefined;
  }
  return { username: username === '' ? undefined : username, password: decoded.subarray(colon + 1) };
}

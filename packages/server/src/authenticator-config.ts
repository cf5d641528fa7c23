import { strictObject } from '@mqtt-warden/policy';
import { z } from 'zod';
import { secretSchema } from './secret.js';

const path = z.string().min(1, 'write a file path (relative paths are read from the config file directory)');
const name = z.string().regex(/^[a-z][a-z0-9-]*$/, 'write a short name such as "jwt" or "idp-tokens"');
const text = z.string().min(1);
const oneOrMany = z.union([text, z.array(text).min(1)]);
const positiveMs = z.int().positive();
const httpUrl = z.url({ protocol: /^https?$/, error: 'write an http:// or https:// URL' });
const cache = z.union([
  z.literal(false),
  strictObject({ max: z.int().positive().optional(), ttlMs: z.int().positive().optional() }),
]);
/** A claim name, or a path into nested claims such as `[realm_access, roles]`. */
const claimPath = z.union([text, z.array(text).min(1)]);

const HMAC = ['HS256', 'HS384', 'HS512'] as const;
const ASYMMETRIC = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;
const algorithms = z
  .array(
    z.enum([...HMAC, ...ASYMMETRIC], {
      error: `write algorithms from: ${[...HMAC, ...ASYMMETRIC].join(', ')} ("none" is never accepted)`,
    }),
  )
  .min(1, 'list at least one algorithm');

const publicJwk = z
  .looseObject({ kty: text })
  .refine((jwk) => jwk.kty !== 'oct', 'a symmetric JWK is a secret: write it as keys.secret')
  .refine((jwk) => !('d' in jwk), 'this JWK holds a private key; give the public key only');

/**
 * Where JWT verification keys come from; exactly one of `secret` (HMAC), `publicKey` (inline PEM,
 * `{ file: PEM }` or a public JWK) and `jwksUrl` (with its fetch options).
 */
const jwtKeys = strictObject({
  secret: secretSchema.optional().describe('HMAC key (HS256/384/512).'),
  publicKey: z
    .union([
      z.string().regex(/-----BEGIN [A-Z ]+-----/, 'write a PEM public key or certificate, or { file: PATH }'),
      strictObject({ file: path }),
      publicJwk,
    ])
    .optional()
    .describe('A PEM public key or certificate, { file: PEM }, or a public JWK.'),
  jwksUrl: httpUrl.optional().describe("The identity provider's JWKS URL, fetched and cached."),
  timeoutMs: positiveMs.optional().describe('JWKS fetch timeout.'),
  cooldownMs: positiveMs
    .optional()
    .describe('Least time between two JWKS fetches (an unknown kid refetches).'),
  cacheMaxAgeMs: positiveMs.optional().describe('How long fetched keys are used before a refetch.'),
})
  .describe('Where verification keys come from: exactly one of secret, publicKey and jwksUrl.')
  .superRefine((keys, ctx) => {
    const given = (['secret', 'publicKey', 'jwksUrl'] as const).filter((k) => keys[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `"keys" takes exactly one of secret, publicKey, jwksUrl${given.length > 1 ? ` (found ${given.join(', ')})` : ''}`,
      });
    }
    if (keys.jwksUrl === undefined) {
      for (const option of ['timeoutMs', 'cooldownMs', 'cacheMaxAgeMs'] as const) {
        if (keys[option] !== undefined) {
          ctx.addIssue({ code: 'custom', path: [option], message: `"${option}" only applies to a jwksUrl` });
        }
      }
    }
  });

/** HMAC algorithms go with a secret and only with a secret (no RS256→HS256 confusion). */
function algorithmsFitKeys(
  block: { keys: z.output<typeof jwtKeys>; algorithms?: readonly string[] | undefined },
  ctx: z.RefinementCtx,
) {
  const symmetric = block.keys.secret !== undefined;
  block.algorithms?.forEach((alg, index) => {
    if ((HMAC as readonly string[]).includes(alg) !== symmetric) {
      ctx.addIssue({
        code: 'custom',
        path: ['algorithms', index],
        message: symmetric
          ? `${alg} cannot be used with keys.secret; use ${HMAC.join(', ')}`
          : `${alg} needs keys.secret; with a public key or JWKS use ${ASYMMETRIC.join(', ')}`,
      });
    }
  });
}

const claimMapping = strictObject({
  username: claimPath
    .optional()
    .describe("Claim that proves the principal's username (e.g. preferred_username); none unless set."),
  roles: claimPath.optional().describe('Claim with role names. Default roles.'),
  groups: claimPath.optional().describe('Claim with group names.'),
  superuser: claimPath.optional().describe('Claim that makes the principal a superuser; off unless set.'),
  acl: z
    .union([claimPath, z.literal(false)])
    .optional()
    .describe('Claim with an EMQX v1/v2 ACL; `false` ignores it.'),
}).describe('Which token claims become the principal: a claim name or a path such as [realm_access, roles].');

const binding = strictObject({
  claim: text.describe('The claim whose value the client id must equal, e.g. sub.'),
  to: z.literal('clientId', {
    error:
      'bind ties a claim to the client id: write to: clientId (to prove the username from a claim, write claims.username: CLAIM)',
  }),
}).describe('Ties a claim to the client id: a token is refused under another client id.');
/**
 * What the CONNECT username must be when the authenticator proves one: `must-match` (default) or
 * `claimed` (any, kept apart; grants nothing).
 */
const connectUsername = z
  .enum(['must-match', 'claimed'], {
    error: 'write "must-match" (the CONNECT username must equal the proven one) or "claimed"',
  })
  .describe(
    'What the CONNECT username must be: must-match (default; equal to the proven username) or claimed (any, kept apart, grants nothing).',
  );
const aclCacheBytes = z
  .int()
  .min(0)
  .max(64 * 1024 * 1024)
  .default(1024 * 1024)
  .describe(
    'Bytes of memory for translated ACL claims (claims.acl), each remembered by the exact text of its claim: a fleet mostly carries the same claims, so most logins skip the translation. 0 translates every claim anew. Default 1 MiB.',
  );
const tokenField = z
  .enum(['password', 'username'])
  .describe('The CONNECT field that carries the token. Default password.');

const PasswordAuthenticator = strictObject({
  type: z.literal('password'),
  file: path
    .optional()
    .describe(
      'Users file (`.yaml`/`.json`, argon2id hashes) or a Mosquitto password_file. With `store:` optional: its users are looked up first, then the devices registered in the store.',
    ),
  unknownUser: z
    .enum(['deny', 'ignore'])
    .optional()
    .describe('A username not in the file: deny (default) or ignore (later authenticators try it).'),
  cache: cache.optional().describe('Cache of successful verifications; `false` turns it off.'),
  limits: z
    .union([
      z.literal(false),
      strictObject({
        concurrency: z.int().positive().optional(),
        maxQueue: z.int().min(0).optional(),
        maxQueuePerSource: z.int().min(0).optional(),
        maxWaitMs: z.int().positive().max(60_000).optional(),
      }),
    ])
    .optional()
    .describe(
      'Hash verifications at once and waiting (taking turns by remote address); an attempt that cannot get a turn within maxWaitMs is answered "unavailable". `false` turns the bound off.',
    ),
}).describe('Usernames and passwords from a users file.');

const JwtAuthenticator = strictObject({
  type: z.literal('jwt'),
  name: name.optional(),
  from: tokenField.optional(),
  keys: jwtKeys,
  algorithms: algorithms.optional(),
  issuer: oneOrMany.optional(),
  audience: oneOrMany.optional(),
  requiredClaims: z.array(text).optional(),
  clockToleranceSeconds: z.number().min(0).max(300).optional(),
  claims: claimMapping.optional(),
  aclCacheBytes,
  bind: binding.optional(),
  connectUsername: connectUsername.optional(),
})
  .superRefine(algorithmsFitKeys)
  .describe('JWTs (from an identity provider) as the MQTT password or username.');

const OAuthAuthenticator = strictObject({
  type: z.literal('oauth'),
  name: name.optional(),
  from: tokenField.optional(),
  /** RFC 7662 introspection of opaque tokens. */
  introspection: strictObject({
    endpoint: httpUrl,
    clientId: text,
    clientSecret: secretSchema,
    clientAuth: z.enum(['client_secret_basic', 'client_secret_post']).optional(),
    timeoutMs: positiveMs.optional(),
    cacheTtlMs: z.int().min(0).optional(),
    negativeCacheTtlMs: z.int().min(0).optional(),
    cacheMax: z.int().positive().optional(),
  }).optional(),
  /** RFC 9068 JWT access tokens, verified locally. */
  jwt: strictObject({
    keys: jwtKeys,
    issuer: text,
    audience: text,
    algorithms: algorithms.optional(),
    clockToleranceSeconds: z.number().min(0).max(300).optional(),
  })
    .superRefine(algorithmsFitKeys)
    .optional(),
  /** With introspection, the `aud` the answer must contain; answers without `aud` are then refused. */
  audience: text.optional(),
  scopes: strictObject({
    prefix: text.optional(),
    roles: z.record(z.string().min(1), oneOrMany).optional(),
  }).optional(),
  claims: claimMapping.optional(),
  aclCacheBytes,
  bind: binding.optional(),
  connectUsername: connectUsername.optional(),
})
  .refine((block) => block.introspection !== undefined || block.jwt !== undefined, {
    message: 'an oauth authenticator needs "introspection", "jwt" or both',
  })
  .describe(
    'OAuth 2.0 access tokens: RFC 9068 JWTs and/or RFC 7662 introspection. Keep it last in the chain.',
  );

const identityField = z.enum([
  'cn',
  'dn',
  'crt',
  'pem',
  'md5',
  'fingerprint',
  'serial',
  'san.dns',
  'san.uri',
  'san.email',
]);

const X509Authenticator = strictObject({
  type: z.literal('x509'),
  /** PEM files of the CAs (root and intermediates) that client certificates must chain to. */
  trustAnchors: z
    .array(path)
    .min(1, 'list at least one CA certificate file')
    .describe('PEM files of the CAs (root and intermediates) that client certificates must chain to.'),
  crl: strictObject({
    files: z.array(path).optional(),
    urls: z.array(httpUrl).optional(),
    refreshIntervalMs: z.int().min(0).optional(),
    timeoutMs: positiveMs.optional(),
    whenUnavailable: z.enum(['fail-closed', 'use-stale']).optional(),
    checkIntermediates: z.boolean().optional(),
  })
    .refine((crl) => (crl.files?.length ?? 0) + (crl.urls?.length ?? 0) > 0, {
      message: '"crl" needs files, urls or both',
    })
    .optional(),
  identity: strictObject({
    id: identityField.optional(),
    username: identityField.optional(),
    clientId: identityField.optional(),
    requireClientIdMatch: identityField.optional(),
  }).optional(),
  connectUsername: connectUsername.optional(),
  roles: z.array(text).optional(),
  allowMissingExtendedKeyUsage: z.boolean().optional(),
  clockToleranceMs: z.int().min(0).optional(),
  maxPathLength: z.int().min(2).max(10).optional(),
  cache: cache.optional(),
  registeredOnly: z
    .boolean()
    .optional()
    .describe(
      'With `store:`: refuse certificates bound to no registered device (revoking a binding then refuses the certificate).',
    ),
}).describe(
  'Client certificates reported by the broker (EMQX: "cert_pem": "${cert_pem}" in the authn body).',
);

const SasTokenAuthenticator = strictObject({
  type: z.literal('sas-token'),
  /** Device keys: a Mosquitto psk_file (`device:hexkey`) or an EMQX PSK file (`device:secret`). */
  keys: strictObject({
    file: path,
    format: z.enum(['mosquitto', 'emqx']).default('mosquitto'),
  })
    .optional()
    .describe(
      'Device keys: a Mosquitto psk_file (device:hexkey) or an EMQX PSK file (device:secret). With `store:` optional: its devices are looked up first, then the SAS keys of registered devices.',
    ),
  hostName: text.optional().describe("The host name the tokens' sr must name; any when absent."),
  requireClientIdMatch: z.boolean().optional(),
  /** The username is the device id; the CONNECT one must equal it (default), name it Azure-style, or is kept apart. */
  connectUsername: z
    .enum(['must-match', 'azure', 'claimed'], { error: 'write "must-match", "azure" or "claimed"' })
    .optional(),
  roles: z.array(text).optional(),
}).describe('Azure IoT Hub style SAS tokens signed with per-device keys.');

/** One link of the `authenticators` chain, by `type`. */
export const AuthenticatorSchema = z.discriminatedUnion(
  'type',
  [PasswordAuthenticator, JwtAuthenticator, OAuthAuthenticator, X509Authenticator, SasTokenAuthenticator],
  { error: '"type" must be one of: password, jwt, oauth, x509, sas-token' },
);

/** A parsed authenticator block; `where` is its config location (`file:line:column`) when parsed from text. */
export type AuthenticatorConfig = z.output<typeof AuthenticatorSchema> & { readonly where?: string };
export type JwtKeysConfig = z.output<typeof jwtKeys>;

/** The block with its file paths resolved by `at` (relative to the config file). */
export function resolveAuthenticatorPaths(
  block: AuthenticatorConfig,
  at: (path: string) => string,
): AuthenticatorConfig {
  switch (block.type) {
    case 'password':
      return { ...block, ...(block.file === undefined ? {} : { file: at(block.file) }) };
    case 'jwt':
      return { ...block, keys: resolveKeyPaths(block.keys, at) };
    case 'oauth':
      return {
        ...block,
        ...(block.jwt ? { jwt: { ...block.jwt, keys: resolveKeyPaths(block.jwt.keys, at) } } : {}),
        ...(block.introspection
          ? {
              introspection: {
                ...block.introspection,
                clientSecret: block.introspection.clientSecret.withPath(at),
              },
            }
          : {}),
      };
    case 'x509':
      return {
        ...block,
        trustAnchors: block.trustAnchors.map(at),
        ...(block.crl ? { crl: { ...block.crl, files: block.crl.files?.map(at) } } : {}),
      };
    case 'sas-token':
      return block.keys ? { ...block, keys: { ...block.keys, file: at(block.keys.file) } } : block;
  }
}

function resolveKeyPaths(keys: JwtKeysConfig, at: (path: string) => string): JwtKeysConfig {
  return {
    ...keys,
    ...(keys.secret ? { secret: keys.secret.withPath(at) } : {}),
    ...(keys.publicKey && typeof keys.publicKey === 'object' && 'file' in keys.publicKey
      ? { publicKey: { file: at(keys.publicKey.file as string) } }
      : {}),
  };
}

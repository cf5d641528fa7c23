import { z } from 'zod';

/**
 * Ids in paths (devices, credentials): letters, digits and `. _ @ -`, so `…/{id}:disable` is unambiguous
 * and an id never needs escaping.
 */
export const ID = z
  .string()
  .regex(/^[A-Za-z0-9._@-]{1,128}$/, 'an id is 1 to 128 letters, digits or . _ @ -')
  .meta({ examples: ['sensor-0001'] });

/** The path pattern Fastify matches ids with (the same characters; the length is checked by {@link ID}). */
export const ID_ROUTE_PATTERN = '^[A-Za-z0-9._@-]+';

const name = z.string().min(1).max(256);
const names = z.array(name).max(256);
const timestamp = z.iso.datetime({ offset: true });
const attributes = z
  .record(z.string().min(1).max(256), z.union([z.string().max(4096), z.array(z.string().max(4096)).max(256)]))
  .refine((value) => Object.keys(value).length <= 256, 'at most 256 attributes');

const base64 = z.base64().min(1);

/** A device as the API shows it. */
export const DeviceSchema = z.object({
  id: z.string(),
  username: z.string(),
  clientIds: z.array(z.string()),
  roles: z.array(z.string()),
  groups: z.array(z.string()),
  attributes: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
  enabled: z.boolean(),
  notBefore: timestamp.optional(),
  expiresAt: timestamp.optional(),
  createdAt: timestamp,
  updatedAt: timestamp,
  version: z.int(),
});

/** A device to register (`POST /devices`, one JSON line of an import). */
export const DeviceInputSchema = z.strictObject({
  id: ID,
  username: name.optional(),
  clientIds: names.min(1).optional(),
  roles: names.optional(),
  groups: names.optional(),
  attributes: attributes.optional(),
  enabled: z.boolean().optional(),
  notBefore: timestamp.optional(),
  expiresAt: timestamp.optional(),
});

/** `PATCH /devices/{id}`: the fields to change; `null` clears a date. */
export const DevicePatchSchema = z
  .strictObject({
    username: name.optional(),
    clientIds: names.min(1).optional(),
    roles: names.optional(),
    groups: names.optional(),
    attributes: attributes.optional(),
    enabled: z.boolean().optional(),
    notBefore: timestamp.nullable().optional(),
    expiresAt: timestamp.nullable().optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, 'name at least one field to change');

/** A certificate binding: the SHA-256 fingerprint, or issuer DN and serial. */
const x509Binding = {
  kind: z.literal('x509'),
  fingerprint: z
    .string()
    .regex(/^[0-9A-Fa-f:]{64,95}$/, 'a SHA-256 fingerprint is 64 hex digits (colons allowed)')
    .optional(),
  issuer: z.string().min(1).max(1024).optional(),
  serial: z
    .string()
    .regex(/^[0-9A-Fa-f:]{1,128}$/, 'a serial number is hex digits')
    .optional(),
};

/** A credential in an import row: stored values only (a password as its hash). */
export const ImportCredentialSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('password'),
    hash: z.string().min(1).max(1024),
    expiresAt: timestamp.optional(),
  }),
  z.strictObject({ kind: z.literal('psk'), identity: name, key: base64, expiresAt: timestamp.optional() }),
  z.strictObject({ kind: z.literal('sas'), key: base64, expiresAt: timestamp.optional() }),
  z.strictObject({ ...x509Binding, expiresAt: timestamp.optional() }),
]);

/** One row of `POST /devices:import`: a device and the credentials it starts with. */
export const ImportRowSchema = DeviceInputSchema.extend({
  credentials: z.array(ImportCredentialSchema).max(16).optional(),
});

/**
 * `POST /devices/{id}/credentials` and `…:rotate`. With `generate: true` the server makes the password,
 * PSK key or SAS key and returns it once; otherwise give the password (hashed here with argon2id) or key.
 */
export const CredentialRequestSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('password'),
    password: z.string().min(1).max(1024).optional(),
    generate: z.boolean().optional(),
    expiresAt: timestamp.optional(),
  }),
  z.strictObject({
    kind: z.literal('psk'),
    identity: name.optional(),
    key: base64.optional(),
    generate: z.boolean().optional(),
    expiresAt: timestamp.optional(),
  }),
  z.strictObject({
    kind: z.literal('sas'),
    key: base64.optional(),
    generate: z.boolean().optional(),
    expiresAt: timestamp.optional(),
  }),
  z.strictObject({ ...x509Binding, expiresAt: timestamp.optional() }),
]);

export const RotateRequestSchema = z.strictObject({
  credential: CredentialRequestSchema,
  /** How long the old credentials keep working (default 1 hour, at most 30 days). */
  overlapSeconds: z
    .int()
    .min(0)
    .max(30 * 86_400)
    .default(3600),
});

/** A credential as the API shows it: never a hash or key. */
export const CredentialViewSchema = z.object({
  id: z.string(),
  deviceId: z.string(),
  kind: z.enum(['password', 'psk', 'sas', 'x509']),
  identity: z.string().optional(),
  fingerprint: z.string().optional(),
  issuer: z.string().optional(),
  serial: z.string().optional(),
  createdAt: timestamp,
  expiresAt: timestamp.optional(),
  lastUsedAt: timestamp.optional(),
  revokedAt: timestamp.optional(),
});

/** A created credential; `secret` (password, or base64 key) only when the server generated it, once. */
export const CreatedCredentialSchema = z.object({
  credential: CredentialViewSchema,
  secret: z.string().optional(),
  /** True when an Idempotency-Key replayed an earlier request: its secret was shown then, not now. */
  replayed: z.boolean().optional(),
});

export const DeviceQuerySchema = z.strictObject({
  after: ID.optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  enabled: z.enum(['true', 'false']).optional(),
  role: name.optional(),
  group: name.optional(),
  idPrefix: z
    .string()
    .regex(/^[A-Za-z0-9._@-]{1,128}$/, 'letters, digits or . _ @ -')
    .optional(),
});

export const PolicyUploadSchema = z.strictObject({
  text: z.string().min(1).max(1_000_000),
  format: z.enum(['yaml', 'json']),
  comment: z.string().max(1024).optional(),
});

export const PolicyVersionSchema = z.object({
  version: z.int(),
  format: z.enum(['yaml', 'json']),
  createdAt: timestamp,
  createdBy: z.string(),
  comment: z.string().optional(),
  active: z.boolean(),
  text: z.string().optional(),
});

const versionNumber = z.coerce.number().int().min(1).max(2_147_483_647);

export const VersionParamsSchema = z.strictObject({ v: versionNumber });
export const DiffQuerySchema = z.strictObject({ against: versionNumber.optional() });
export const ActivateSchema = z.strictObject({ expectedActive: z.int().min(0).optional() });
export const RollbackSchema = z.strictObject({ expectedActive: z.int().min(1).optional() });

/** `POST /policies:simulate`: would this device (or principal) be allowed this action on this topic? */
export const SimulateSchema = z
  .strictObject({
    deviceId: ID.optional(),
    principal: z
      .strictObject({
        id: name,
        username: name.optional(),
        roles: names.default([]),
        groups: names.optional(),
        attributes: attributes.optional(),
        method: name.default('password'),
      })
      .optional(),
    clientId: name.optional(),
    action: z.enum(['publish', 'subscribe', 'receive']),
    topic: z.string().min(1).max(65_535),
    qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional(),
    retain: z.boolean().optional(),
    /** A candidate version; default the active one. */
    version: z.int().min(1).optional(),
  })
  .refine((s) => (s.deviceId === undefined) !== (s.principal === undefined), {
    error: 'give either deviceId or principal',
  });

export const AuditQuerySchema = z.strictObject({
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

export const AuditRecordSchema = z.object({
  id: z.int(),
  at: timestamp,
  actor: z.string(),
  action: z.string(),
  target: z.string(),
  before: z.unknown().optional(),
  after: z.unknown().optional(),
});

export const ErrorSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    issues: z
      .array(
        z.object({
          path: z.array(z.union([z.string(), z.number()])),
          message: z.string(),
          line: z.int().optional(),
          column: z.int().optional(),
        }),
      )
      .optional(),
  }),
});

export const DeviceParamsSchema = z.strictObject({ id: ID });
export const CredentialParamsSchema = z.strictObject({ id: ID, cid: ID });
export const EmptySchema = z.strictObject({});

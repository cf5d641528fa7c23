import { randomBytes } from 'node:crypto';
import { checkPasswordRules, hashPassword } from '@mqtt-warden/password';
import type { Credential, CredentialInput, RegistryStore, WriteContext } from '@mqtt-warden/registry';
import { z } from 'zod';
import { AdminApiError } from './admin-api-error.js';
import { type AdminRoute, COMMON_ERRORS, IDEMPOTENCY_HEADER, route } from './admin-route.js';
import {
  CreatedCredentialSchema,
  CredentialParamsSchema,
  CredentialRequestSchema,
  CredentialViewSchema,
  DeviceParamsSchema,
  EmptySchema,
  ErrorSchema,
  RotateRequestSchema,
} from './schemas.js';
import { credentialView } from './views.js';

type CredentialRequest = z.output<typeof CredentialRequestSchema>;
type DeviceParams = z.output<typeof DeviceParamsSchema>;

const errors = {
  ...COMMON_ERRORS,
  404: { description: 'no such device or credential', schema: ErrorSchema },
};

/** What the store gets, and the generated secret to show once (password, or base64 key). */
interface Prepared {
  readonly input: CredentialInput;
  readonly secret?: string;
}

const invalid = (message: string) => new AdminApiError(400, 'ERR_INVALID_INPUT', message);

/** Turns a request into a stored credential: generates what was asked, hashes a password with argon2id. */
async function prepare(request: CredentialRequest, deviceId: string, username: string): Promise<Prepared> {
  const expiresAt = request.expiresAt === undefined ? undefined : new Date(request.expiresAt);
  switch (request.kind) {
    case 'password': {
      if (request.generate === true && request.password !== undefined) {
        throw invalid('give either password or generate: true');
      }
      if (request.generate === true) {
        const secret = randomBytes(24).toString('base64url');
        return { input: { kind: 'password', hash: await hashPassword(secret), expiresAt }, secret };
      }
      if (request.password === undefined) throw invalid('give password, or generate: true');
      const rules = checkPasswordRules(request.password, {}, { username });
      if (!rules.ok) throw invalid(rules.failures.map((f) => f.message).join('; '));
      return { input: { kind: 'password', hash: await hashPassword(request.password), expiresAt } };
    }
    case 'psk':
    case 'sas': {
      if (request.generate === true && request.key !== undefined)
        throw invalid('give either key or generate: true');
      let key: Buffer;
      let secret: string | undefined;
      if (request.generate === true) {
        key = randomBytes(32);
        secret = key.toString('base64');
      } else if (request.key === undefined) {
        throw invalid('give key (base64), or generate: true');
      } else {
        key = Buffer.from(request.key, 'base64');
        if (key.length < 16) throw invalid('key: give at least 16 bytes (128 bits)');
      }
      const input: CredentialInput =
        request.kind === 'psk'
          ? { kind: 'psk', identity: request.identity ?? deviceId, key, expiresAt }
          : { kind: 'sas', key, expiresAt };
      return { input, secret };
    }
    case 'x509': {
      const fingerprint = request.fingerprint?.replaceAll(':', '').toUpperCase();
      if ((fingerprint === undefined) === (request.issuer === undefined || request.serial === undefined)) {
        throw invalid('give either fingerprint, or issuer and serial');
      }
      if (fingerprint !== undefined && fingerprint.length !== 64) throw invalid('fingerprint: 64 hex digits');
      return {
        input: fingerprint
          ? { kind: 'x509', fingerprint, expiresAt }
          : {
              kind: 'x509',
              issuer: request.issuer,
              serial: request.serial?.replaceAll(':', '').toUpperCase(),
              expiresAt,
            },
      };
    }
  }
}

/** Whether the store kept what we sent, or replayed an earlier request (whose secret was shown then). */
function isOurs(stored: Credential, sent: CredentialInput): boolean {
  if (stored.kind === 'password' && sent.kind === 'password') return stored.hash === sent.hash;
  if ((stored.kind === 'psk' || stored.kind === 'sas') && (sent.kind === 'psk' || sent.kind === 'sas')) {
    return Buffer.from(stored.key).equals(Buffer.from(sent.key));
  }
  return true;
}

async function addCredential(
  store: RegistryStore,
  deviceId: string,
  request: CredentialRequest,
  context: WriteContext,
) {
  const device = await store.getDevice(deviceId);
  if (!device) throw new AdminApiError(404, 'ERR_ADMIN_NOT_FOUND', `no device "${deviceId}"`);
  const prepared = await prepare(request, deviceId, device.username);
  const stored = await store.addCredential(deviceId, prepared.input, context);
  // A replayed request gets the credential but not a secret it cannot know: it was shown once already.
  const fresh = isOurs(stored, prepared.input);
  return {
    credential: credentialView(stored),
    secret: fresh ? prepared.secret : undefined,
    replayed: fresh ? undefined : true,
  };
}

/** Credential routes: add (generating secrets on request), rotate with overlap, revoke, list. */
export function credentialRoutes(store: RegistryStore): AdminRoute[] {
  return [
    route<DeviceParams, unknown, CredentialRequest>({
      method: 'POST',
      path: '/devices/{id}/credentials',
      scope: 'write',
      summary: 'Add a credential; with generate: true the response carries the secret, once',
      params: DeviceParamsSchema,
      body: CredentialRequestSchema,
      headers: [IDEMPOTENCY_HEADER],
      responses: {
        201: { description: 'the credential (and the generated secret)', schema: CreatedCredentialSchema },
        ...errors,
        409: { description: 'PSK identity or certificate already bound', schema: ErrorSchema },
      },
      async handler({ params, body, context }, reply) {
        reply.code(201);
        return addCredential(store, params.id, body, context());
      },
    }),
    route<DeviceParams, unknown, z.output<typeof RotateRequestSchema>>({
      method: 'POST',
      path: '/devices/{id}/credentials:rotate',
      scope: 'write',
      summary: 'Add a credential; the device’s other credentials of its kind expire after overlapSeconds',
      params: DeviceParamsSchema,
      body: RotateRequestSchema,
      headers: [IDEMPOTENCY_HEADER],
      responses: {
        200: {
          description: 'the new credential and the ones now expiring',
          schema: CreatedCredentialSchema.extend({ expiring: z.array(CredentialViewSchema) }),
        },
        ...errors,
      },
      async handler({ params, body, context }) {
        // PSK identities are unique, the old one included until it expires: the new key gets a new one.
        const request =
          body.credential.kind === 'psk' && body.credential.identity === undefined
            ? { ...body.credential, identity: `${params.id}.${randomBytes(3).toString('hex')}` }
            : body.credential;
        const created = await addCredential(store, params.id, request, context('add'));
        const until = new Date(Date.now() + body.overlapSeconds * 1000);
        const expiring = [];
        for (const old of await store.listCredentials(params.id)) {
          if (old.id === created.credential.id || old.kind !== body.credential.kind || old.revokedAt)
            continue;
          expiring.push(await store.revokeCredential(params.id, old.id, context(`expire-${old.id}`), until));
        }
        return { ...created, expiring: expiring.map(credentialView) };
      },
    }),
    route<z.output<typeof CredentialParamsSchema>>({
      method: 'POST',
      path: '/devices/{id}/credentials/{cid}:revoke',
      scope: 'write',
      summary: 'Revoke one credential now',
      params: CredentialParamsSchema,
      body: EmptySchema,
      headers: [IDEMPOTENCY_HEADER],
      responses: { 200: { description: 'the revoked credential', schema: CredentialViewSchema }, ...errors },
      async handler({ params, context }) {
        return credentialView(await store.revokeCredential(params.id, params.cid, context()));
      },
    }),
    route<DeviceParams>({
      method: 'POST',
      path: '/devices/{id}/credentials:revoke-all',
      scope: 'write',
      summary: 'Revoke every credential of a device now',
      params: DeviceParamsSchema,
      body: EmptySchema,
      headers: [IDEMPOTENCY_HEADER],
      responses: {
        200: { description: 'how many were revoked', schema: z.object({ revoked: z.int() }) },
        ...errors,
      },
      async handler({ params, context }) {
        return { revoked: await store.revokeAllCredentials(params.id, context()) };
      },
    }),
    route<DeviceParams>({
      method: 'GET',
      path: '/devices/{id}/credentials',
      scope: 'read',
      summary: 'List a device’s credentials (never a hash or key)',
      params: DeviceParamsSchema,
      responses: {
        200: {
          description: 'the credentials',
          schema: z.object({ credentials: z.array(CredentialViewSchema) }),
        },
        ...errors,
      },
      async handler({ params }) {
        if (!(await store.getDevice(params.id))) {
          throw new AdminApiError(404, 'ERR_ADMIN_NOT_FOUND', `no device "${params.id}"`);
        }
        return { credentials: (await store.listCredentials(params.id)).map(credentialView) };
      },
    }),
  ];
}

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AdminScope, AdminToken, RegistryStore, WriteContext } from '@mqtt-warden/registry';

/** Every admin token starts with this, so secret scanners and people recognise one. */
export const ADMIN_TOKEN_PREFIX = 'mwa_';

const TOKEN_PATTERN = /^mwa_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** A freshly created admin token: `token` is shown once, the store keeps only its SHA-256. */
export interface IssuedAdminToken {
  readonly token: string;
  readonly record: AdminToken;
}

/**
 * Creates an admin token `mwa_<id>_<secret>` (secret: 32 random bytes, base64url) and stores its id,
 * scopes and the SHA-256 of the secret. The secret has 256 bits of entropy, so a fast hash is enough.
 *
 * @example
 * ```ts
 * const { token } = await createAdminToken(store, { scopes: ['read'] }, { actor: 'cli:root' });
 * ```
 */
export async function createAdminToken(
  store: RegistryStore,
  options: { readonly scopes: readonly AdminScope[]; readonly description?: string },
  context: WriteContext,
): Promise<IssuedAdminToken> {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const record = await store.createAdminToken(
    {
      id,
      secretHash: hashSecret(secret),
      scopes: [...new Set(options.scopes)],
      description: options.description,
    },
    context,
  );
  return { token: `${ADMIN_TOKEN_PREFIX}${id}_${secret}`, record };
}

/**
 * The stored, not revoked token a presented `mwa_…` string proves, else undefined (malformed, unknown,
 * wrong secret or revoked alike). The hashes are compared in constant time.
 */
export async function verifyAdminToken(
  store: RegistryStore,
  presented: string,
): Promise<AdminToken | undefined> {
  const match = TOKEN_PATTERN.exec(presented);
  if (!match) return undefined;
  const record = await store.getAdminToken(match[1]!);
  if (!record || record.revokedAt) return undefined;
  const expected = Buffer.from(record.secretHash);
  const actual = hashSecret(match[2]!);
  return expected.length === actual.length && timingSafeEqual(expected, actual) ? record : undefined;
}

function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

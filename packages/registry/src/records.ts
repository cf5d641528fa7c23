import { randomUUID } from 'node:crypto';
import { InvalidInputError } from '@mqtt-warden/core';
import type { Credential, CredentialInput } from './credential.js';
import type { Device, DeviceAttributes, DeviceInput, DevicePatch } from './device.js';
import type { RegistryChange } from './registry-store.js';

/** A change before the store numbered it. */
export type ChangeBody = RegistryChange extends infer C
  ? C extends RegistryChange
    ? Omit<C, 'epoch'>
    : never
  : never;

/** How long an idempotency key answers with its first result. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * How every store turns inputs into records, so the memory and PostgreSQL stores fill in the same
 * defaults and refuse the same malformed values.
 */

function requireText(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024 || value.includes('\0'))
    throw new InvalidInputError(`${what} must be a non-empty string of at most 1024 characters, without NUL`);
  return value;
}

function requireItems(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || value.length > 1000)
    throw new InvalidInputError(`${what} must be a list of at most 1000 strings`);
  for (const item of value)
    if (typeof item !== 'string' || item.length > 1024 || item.includes('\0'))
      throw new InvalidInputError(`each of ${what} must be a string of at most 1024 characters, without NUL`);
  return [...value];
}

/** Attribute values become policy placeholders: strings or lists of strings, nothing else. */
function requireAttributes(value: unknown): DeviceAttributes {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidInputError('device attributes must be an object of strings or lists of strings');
  const attributes: Record<string, string | string[]> = {};
  for (const [key, item] of Object.entries(value)) {
    requireItems([key], 'attribute names');
    attributes[key] =
      typeof item === 'string'
        ? requireItems([item], 'attribute values')[0]!
        : requireItems(item, `attribute ${key}`);
  }
  return attributes;
}

function requireDate(value: unknown, what: string): Date | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof Date) || Number.isNaN(value.getTime()))
    throw new InvalidInputError(`${what} must be a valid Date`);
  return new Date(value.getTime());
}

/** A new device from its input, with the documented defaults. */
export function newDevice(input: DeviceInput, now: Date): Device {
  const id = requireText(input.id, 'device id');
  return {
    id,
    username: requireText(input.username ?? id, 'device username'),
    clientIds: requireItems(input.clientIds ?? [id], 'clientIds'),
    roles: requireItems(input.roles ?? [], 'roles'),
    groups: requireItems(input.groups ?? [], 'groups'),
    attributes: requireAttributes(input.attributes ?? {}),
    enabled: input.enabled ?? true,
    ...optionalDate('notBefore', requireDate(input.notBefore, 'notBefore')),
    ...optionalDate('expiresAt', requireDate(input.expiresAt, 'expiresAt')),
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
}

/** The device after a patch: one version later; `null` clears an optional date. */
export function patchDevice(device: Device, patch: DevicePatch, now: Date): Device {
  const { notBefore, expiresAt, ...rest } = device;
  const next = {
    ...rest,
    ...(patch.username !== undefined && { username: requireText(patch.username, 'device username') }),
    ...(patch.clientIds !== undefined && { clientIds: requireItems(patch.clientIds, 'clientIds') }),
    ...(patch.roles !== undefined && { roles: requireItems(patch.roles, 'roles') }),
    ...(patch.groups !== undefined && { groups: requireItems(patch.groups, 'groups') }),
    ...(patch.attributes !== undefined && { attributes: requireAttributes(patch.attributes) }),
    ...(patch.enabled !== undefined && { enabled: patch.enabled }),
    updatedAt: now,
    version: device.version + 1,
  };
  return {
    ...next,
    ...optionalDate(
      'notBefore',
      patch.notBefore === null ? undefined : (requireDate(patch.notBefore, 'notBefore') ?? notBefore),
    ),
    ...optionalDate(
      'expiresAt',
      patch.expiresAt === null ? undefined : (requireDate(patch.expiresAt, 'expiresAt') ?? expiresAt),
    ),
  };
}

/** An imported device replacing `existing` (keeps its creation time, one version later). */
export function replaceDevice(
  existing: Pick<Device, 'createdAt' | 'version'> | undefined,
  input: DeviceInput,
  now: Date,
): Device {
  const fresh = newDevice(input, now);
  return existing ? { ...fresh, createdAt: existing.createdAt, version: existing.version + 1 } : fresh;
}

function requireKey(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length === 0 || value.length > 1024)
    throw new InvalidInputError(`${what} must be a Uint8Array of 1 to 1024 bytes`);
  return new Uint8Array(value);
}

/** A new credential of a device from its input; the id is generated when absent. */
export function newCredential(deviceId: string, input: CredentialInput, now: Date): Credential {
  const base = {
    id: input.id === undefined ? randomUUID() : requireText(input.id, 'credential id'),
    deviceId,
    createdAt: now,
    ...optionalDate('expiresAt', requireDate(input.expiresAt, 'credential expiresAt')),
  };
  switch (input.kind) {
    case 'password':
      return { ...base, kind: 'password', hash: requireText(input.hash, 'password hash') };
    case 'psk':
      return {
        ...base,
        kind: 'psk',
        identity: requireText(input.identity, 'PSK identity'),
        key: requireKey(input.key, 'PSK key'),
      };
    case 'sas':
      return { ...base, kind: 'sas', key: requireKey(input.key, 'SAS key') };
    case 'x509': {
      const fingerprint =
        input.fingerprint === undefined ? undefined : normalizeFingerprint(input.fingerprint);
      const hasIssuerSerial = input.issuer !== undefined || input.serial !== undefined;
      if (hasIssuerSerial) {
        requireText(input.issuer, 'certificate issuer');
        requireText(input.serial, 'certificate serial');
      }
      if (fingerprint === undefined && !hasIssuerSerial)
        throw new InvalidInputError('a certificate binding needs a fingerprint or an issuer and serial');
      return {
        ...base,
        kind: 'x509',
        ...(fingerprint !== undefined && { fingerprint }),
        ...(hasIssuerSerial && { issuer: input.issuer!, serial: input.serial! }),
      };
    }
    default:
      throw new InvalidInputError(
        `unknown credential kind ${JSON.stringify((input as { kind: unknown }).kind)}`,
      );
  }
}

/** SHA-256 fingerprints are stored upper-case hex without colons, the form lookups use. */
export function normalizeFingerprint(value: string): string {
  const hex = requireText(value, 'certificate fingerprint').replaceAll(':', '').toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex))
    throw new InvalidInputError('a certificate fingerprint is the SHA-256 digest in hex (64 digits)');
  return hex;
}

/**
 * Whether a lookup key cannot be stored (it holds NUL, which PostgreSQL text refuses and no record has):
 * such a lookup finds nothing instead of failing.
 */
export function unstorable(...keys: readonly string[]): boolean {
  return keys.some((key) => key.includes('\0'));
}

/** A session's keys, checked as every store can hold them. */
export function requireSessionKeys(username: string, clientId: string): void {
  if (typeof username !== 'string' || typeof clientId !== 'string' || unstorable(username, clientId))
    throw new InvalidInputError('a session username and client id are strings without NUL');
}

/** Whether a credential is revoked at `now` (a revocation set in the future has not happened yet). */
export function isRevoked(credential: Credential, now: Date): boolean {
  return credential.revokedAt !== undefined && credential.revokedAt.getTime() <= now.getTime();
}

/** Page size of listings: default 100, at most 1,000. */
export function pageSize(limit: number | undefined, fallback = 100): number {
  if (limit === undefined) return fallback;
  if (!Number.isInteger(limit) || limit < 1) throw new InvalidInputError('limit must be a positive integer');
  return Math.min(limit, 1000);
}

function optionalDate<K extends string>(name: K, value: Date | undefined): { [P in K]?: Date } {
  return (value === undefined ? {} : { [name]: value }) as { [P in K]?: Date };
}

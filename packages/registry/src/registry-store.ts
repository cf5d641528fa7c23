import type { JsonWebKey } from 'node:crypto';
import type { Principal } from '@mqtt-warden/core';
import type { Credential, CredentialInput, CredentialLookup, DeviceCredentials } from './credential.js';
import type { Device, DeviceInput, DevicePage, DevicePatch, DeviceQuery } from './device.js';

/** Who makes a write, for the audit record every write leaves; never a secret. */
export interface WriteContext {
  /** The admin token id, certificate subject or `cli:<user>` that asked. */
  readonly actor: string;
  /**
   * A retried request with the same key and actor returns the first result instead of writing again
   * (kept at least 24 h).
   */
  readonly idempotencyKey?: string;
}

/** One row of a bulk import: a device and the credentials it starts with. */
export interface DeviceImportRow {
  readonly device: DeviceInput;
  readonly credentials?: readonly CredentialInput[];
}

export interface ImportResult {
  readonly created: number;
  readonly updated: number;
}

/** A device-token signing key, shared by every replica. `privateJwk` is encrypted at rest. */
export interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateJwk: JsonWebKey;
  readonly publicJwk: JsonWebKey;
  readonly createdAt: Date;
  /** After this the key no longer signs; it verifies until its tokens expired. */
  readonly retiresAt?: Date;
}

/** One uploaded policy document. Versions are immutable; one at most is active. */
export interface PolicyVersion {
  readonly version: number;
  /** The document as uploaded (YAML or JSON), so errors and explanations keep their lines. */
  readonly text: string;
  readonly format: 'yaml' | 'json';
  readonly createdAt: Date;
  readonly createdBy: string;
  readonly comment?: string;
  readonly active: boolean;
}

export type AdminScope = 'read' | 'write' | 'policy';

/** An admin API token. The secret is never stored: `secretHash` is SHA-256 of it (it has 256 bits of entropy). */
export interface AdminToken {
  readonly id: string;
  readonly secretHash: Uint8Array;
  readonly scopes: readonly AdminScope[];
  readonly description?: string;
  readonly createdAt: Date;
  readonly createdBy: string;
  readonly revokedAt?: Date;
}

/** Which principal authenticated one client session, shared so any replica answers its authorization. */
export interface SessionRecord {
  /** The CONNECT username (`''` when none) and client id identify the session. */
  readonly username: string;
  readonly clientId: string;
  readonly principal: Principal;
  /** The authenticator that allowed the login. */
  readonly authenticator: string;
  /** The registry device the principal came from, so a change to the device ends the session. */
  readonly deviceId?: string;
  readonly expiresAt: Date;
}

/** The audit record of one write: who, what, when, before and after (secrets replaced by `"[secret]"`). */
export interface AuditRecord {
  readonly id: number;
  readonly at: Date;
  readonly actor: string;
  /** e.g. `device.create`, `credential.revoke`, `policy.activate`, `admin-token.create`. */
  readonly action: string;
  /** The id of what changed (device id, credential id, policy version, token id). */
  readonly target: string;
  readonly before?: unknown;
  readonly after?: unknown;
}

/**
 * What a committed write changed, as every replica hears it. `epoch` increases with every change;
 * `resync` is emitted after the feed was interrupted (reconnect): drop every cache.
 */
export type RegistryChange =
  | { readonly epoch: number; readonly kind: 'device'; readonly deviceId: string; readonly username?: string }
  | {
      readonly epoch: number;
      readonly kind: 'credential';
      readonly deviceId: string;
      readonly credentialId: string;
    }
  | { readonly epoch: number; readonly kind: 'policy'; readonly version: number }
  | { readonly epoch: number; readonly kind: 'signing-key'; readonly kid: string }
  | { readonly epoch: number; readonly kind: 'admin-token'; readonly tokenId: string }
  | { readonly epoch: number; readonly kind: 'resync' };

/**
 * The registry: the fleet's source of truth. Every implementation (memory, PostgreSQL) runs the same
 * contract suite (`registryContract` in `test/registry-contract.ts`). Writes are atomic with their audit
 * record and their change notification (sessions excepted: see {@link RegistryStore.putSession}). Reads
 * that fail because the backend is down throw `UnavailableError` (`ERR_UNAVAILABLE`) from
 * `@mqtt-warden/core`, never return "not found".
 *
 * Errors: `RegistryError` with code `ERR_REGISTRY_NOT_FOUND`, `ERR_REGISTRY_EXISTS` (duplicate id, username,
 * PSK identity, certificate binding) or `ERR_REGISTRY_CONFLICT` (version mismatch).
 */
export interface RegistryStore {
  // Devices
  createDevice(input: DeviceInput, context: WriteContext): Promise<Device>;
  getDevice(id: string): Promise<Device | undefined>;
  listDevices(query?: DeviceQuery): Promise<DevicePage>;
  /** `expectedVersion`, when given, must equal the stored version (else `ERR_REGISTRY_CONFLICT`). */
  updateDevice(
    id: string,
    patch: DevicePatch,
    context: WriteContext,
    expectedVersion?: number,
  ): Promise<Device>;
  /** Deletes the device, its credentials and its sessions; false when there was none. */
  deleteDevice(id: string, context: WriteContext, expectedVersion?: number): Promise<boolean>;
  /** Creates or replaces devices (and adds their credentials) in one transaction per call. */
  importDevices(rows: readonly DeviceImportRow[], context: WriteContext): Promise<ImportResult>;

  // Credentials
  addCredential(deviceId: string, input: CredentialInput, context: WriteContext): Promise<Credential>;
  listCredentials(deviceId: string): Promise<readonly Credential[]>;
  /** Revokes one credential at `at` (default now: a future time leaves an overlap window). */
  revokeCredential(
    deviceId: string,
    credentialId: string,
    context: WriteContext,
    at?: Date,
  ): Promise<Credential>;
  /** Revokes every credential of the device now; returns how many. */
  revokeAllCredentials(deviceId: string, context: WriteContext): Promise<number>;
  /** The device and its not-revoked credentials matching the lookup, for authenticators. */
  findCredentials(lookup: CredentialLookup): Promise<DeviceCredentials | undefined>;
  /** Records a successful use (stores may batch and coarsen it). */
  touchCredential(credentialId: string, at: Date): Promise<void>;

  // Device-token signing keys
  listSigningKeys(): Promise<readonly SigningKey[]>;
  /** Adds a key unless one with its kid exists (replicas starting together race here). */
  addSigningKey(key: SigningKey, context: WriteContext): Promise<void>;

  // Policy versions
  addPolicyVersion(
    input: { readonly text: string; readonly format: 'yaml' | 'json'; readonly comment?: string },
    context: WriteContext,
  ): Promise<PolicyVersion>;
  getPolicyVersion(version: number): Promise<PolicyVersion | undefined>;
  listPolicyVersions(): Promise<readonly PolicyVersion[]>;
  activePolicyVersion(): Promise<PolicyVersion | undefined>;
  /** Makes `version` the active one; `expectedActive` guards against a concurrent activation. */
  activatePolicyVersion(
    version: number,
    context: WriteContext,
    expectedActive?: number,
  ): Promise<PolicyVersion>;

  // Sessions
  /**
   * Stores (or replaces) the session of `(username, clientId)`. Unlike every other write, session writes
   * are neither audited nor announced on the change feed, and do not wait for other writes: sessions
   * are per-key, last writer wins (a replica writes what it just proved), no replica caches them from a
   * change, and a reader checks a record against its device again (`deviceId`). Deleting a device
   * deletes its sessions in the same transaction, announced by the device change.
   */
  putSession(record: SessionRecord): Promise<void>;
  getSession(username: string, clientId: string): Promise<SessionRecord | undefined>;
  /** Deletes one session; like {@link RegistryStore.putSession}, neither audited nor announced. */
  deleteSession(username: string, clientId: string): Promise<void>;

  // Admin tokens
  createAdminToken(
    token: Omit<AdminToken, 'createdAt' | 'revokedAt' | 'createdBy'>,
    context: WriteContext,
  ): Promise<AdminToken>;
  getAdminToken(id: string): Promise<AdminToken | undefined>;
  listAdminTokens(): Promise<readonly AdminToken[]>;
  revokeAdminToken(id: string, context: WriteContext): Promise<AdminToken>;

  // Audit of writes
  listAuditRecords(query?: {
    readonly after?: number;
    readonly limit?: number;
  }): Promise<readonly AuditRecord[]>;

  // Change feed
  /** The epoch of the latest committed change (0 when none). */
  currentEpoch(): Promise<number>;
  /** Changes after `epoch`, oldest first, at most `limit` (default 1,000). */
  changesSince(epoch: number, limit?: number): Promise<readonly RegistryChange[]>;
  /** Calls the listener for every committed change, on this replica and every other; returns unsubscribe. */
  onChange(listener: (change: RegistryChange) => void): () => void;

  /** True when the backend answers (for `/readyz`). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

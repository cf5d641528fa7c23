import { UnavailableError } from '@mqtt-warden/core';
import { auditSnapshot } from './audit-snapshot.js';
import type { Credential, CredentialInput, CredentialLookup, DeviceCredentials } from './credential.js';
import type { Device, DeviceInput, DevicePage, DevicePatch, DeviceQuery } from './device.js';
import {
  type ChangeBody,
  IDEMPOTENCY_TTL_MS,
  isRevoked,
  newCredential,
  newDevice,
  normalizeFingerprint,
  pageSize,
  patchDevice,
  replaceDevice,
  requireSessionKeys,
} from './records.js';
import { RegistryError } from './registry-error.js';
import type {
  AdminToken,
  AuditRecord,
  DeviceImportRow,
  ImportResult,
  PolicyVersion,
  RegistryChange,
  RegistryStore,
  SessionRecord,
  SigningKey,
  WriteContext,
} from './registry-store.js';

export interface MemoryRegistryOptions {
  /** The clock (tests move it to check expiry and future revocations). Default `() => new Date()`. */
  readonly now?: () => Date;
}

/** Everything the store holds; records are replaced, never mutated, so a snapshot is a shallow copy. */
interface State {
  devices: Map<string, Device>;
  credentials: Map<string, Credential>;
  signingKeys: Map<string, SigningKey>;
  policies: Map<number, PolicyVersion>;
  sessions: Map<string, SessionRecord>;
  tokens: Map<string, AdminToken>;
}

/**
 * A `RegistryStore` in process memory, for tests, development and single-replica setups without
 * PostgreSQL. It passes the same contract suite as the PostgreSQL store; nothing survives a restart and
 * its change feed reaches this process only.
 *
 * @example
 * ```ts
 * const store = new MemoryRegistry();
 * await store.createDevice({ id: 'sensor-1' }, { actor: 'cli:ops' });
 * ```
 */
export class MemoryRegistry implements RegistryStore {
  readonly #now: () => Date;
  #state: State = {
    devices: new Map(),
    credentials: new Map(),
    signingKeys: new Map(),
    policies: new Map(),
    sessions: new Map(),
    tokens: new Map(),
  };
  readonly #audit: AuditRecord[] = [];
  readonly #changes: RegistryChange[] = [];
  readonly #idempotency = new Map<string, { action: string; result: unknown; at: number }>();
  readonly #listeners = new Set<(change: RegistryChange) => void>();
  #closed = false;

  constructor(options: MemoryRegistryOptions = {}) {
    this.#now = options.now ?? (() => new Date());
  }

  // Devices

  async createDevice(input: DeviceInput, context: WriteContext): Promise<Device> {
    return this.#write(context, 'device.create', () => {
      const device = newDevice(input, this.#now());
      if (this.#state.devices.has(device.id)) throw exists(`a device with id ${device.id} exists`);
      this.#requireFreeUsername(device.username, device.id);
      this.#state.devices.set(device.id, device);
      this.#record(context, 'device.create', device.id, undefined, device);
      this.#emit({ kind: 'device', deviceId: device.id, username: device.username });
      return device;
    });
  }

  async getDevice(id: string): Promise<Device | undefined> {
    return this.#read(() => this.#state.devices.get(id));
  }

  async listDevices(query: DeviceQuery = {}): Promise<DevicePage> {
    return this.#read(() => {
      const limit = pageSize(query.limit);
      const matching = [...this.#state.devices.values()]
        .filter(
          (d) =>
            (query.after === undefined || compareIds(d.id, query.after) > 0) &&
            (query.enabled === undefined || d.enabled === query.enabled) &&
            (query.role === undefined || d.roles.includes(query.role)) &&
            (query.group === undefined || d.groups.includes(query.group)) &&
            (query.idPrefix === undefined || d.id.startsWith(query.idPrefix)),
        )
        .sort((a, b) => compareIds(a.id, b.id));
      const devices = matching.slice(0, limit);
      return matching.length > limit ? { devices, next: devices.at(-1)!.id } : { devices };
    });
  }

  async updateDevice(
    id: string,
    patch: DevicePatch,
    context: WriteContext,
    expectedVersion?: number,
  ): Promise<Device> {
    return this.#write(context, 'device.update', () => {
      const before = this.#requireDevice(id, expectedVersion);
      const after = patchDevice(before, patch, this.#now());
      this.#requireFreeUsername(after.username, id);
      this.#state.devices.set(id, after);
      this.#record(context, 'device.update', id, before, after);
      this.#emit({ kind: 'device', deviceId: id, username: before.username });
      if (after.username !== before.username)
        this.#emit({ kind: 'device', deviceId: id, username: after.username });
      return after;
    });
  }

  async deleteDevice(id: string, context: WriteContext, expectedVersion?: number): Promise<boolean> {
    return this.#write(context, 'device.delete', () => {
      const before = this.#state.devices.get(id);
      if (!before) return false;
      this.#requireDevice(id, expectedVersion);
      this.#state.devices.delete(id);
      for (const credential of this.#credentialsOf(id)) this.#state.credentials.delete(credential.id);
      for (const [key, session] of this.#state.sessions)
        if (session.deviceId === id) this.#state.sessions.delete(key);
      this.#record(context, 'device.delete', id, before, undefined);
      this.#emit({ kind: 'device', deviceId: id, username: before.username });
      return true;
    });
  }

  async importDevices(rows: readonly DeviceImportRow[], context: WriteContext): Promise<ImportResult> {
    return this.#write(context, 'device.import', () => {
      const snapshot = this.#snapshot();
      const changes: ChangeBody[] = [];
      try {
        const now = this.#now();
        const seen = new Set<string>();
        let created = 0;
        for (const row of rows) {
          if (seen.has(row.device.id)) throw exists(`device id ${row.device.id} appears twice in the import`);
          seen.add(row.device.id);
          const existing = this.#state.devices.get(row.device.id);
          const device = replaceDevice(existing, row.device, now);
          this.#requireFreeUsername(device.username, device.id);
          if (!existing) created++;
          this.#state.devices.set(device.id, device);
          if (existing && existing.username !== device.username)
            changes.push({ kind: 'device', deviceId: device.id, username: existing.username });
          changes.push({ kind: 'device', deviceId: device.id, username: device.username });
          for (const input of row.credentials ?? []) {
            const credential = newCredential(device.id, input, now);
            const previous = this.#state.credentials.get(credential.id);
            if (previous && previous.deviceId !== device.id)
              throw exists(`a credential with id ${credential.id} exists on another device`);
            this.#state.credentials.delete(credential.id);
            this.#requireFreeCredential(credential);
            this.#state.credentials.set(credential.id, credential);
          }
        }
        const result = { created, updated: rows.length - created };
        this.#record(context, 'device.import', `${rows.length} devices`, undefined, {
          ...result,
          deviceIds: [...seen],
        });
        for (const change of changes) this.#emit(change);
        return result;
      } catch (error) {
        this.#state = snapshot;
        throw error;
      }
    });
  }

  // Credentials

  async addCredential(deviceId: string, input: CredentialInput, context: WriteContext): Promise<Credential> {
    return this.#write(context, 'credential.create', () => {
      this.#requireDevice(deviceId);
      const credential = newCredential(deviceId, input, this.#now());
      if (this.#state.credentials.has(credential.id))
        throw exists(`a credential with id ${credential.id} exists`);
      this.#requireFreeCredential(credential);
      this.#state.credentials.set(credential.id, credential);
      this.#record(context, 'credential.create', credential.id, undefined, credential);
      this.#emit({ kind: 'credential', deviceId, credentialId: credential.id });
      return credential;
    });
  }

  async listCredentials(deviceId: string): Promise<readonly Credential[]> {
    return this.#read(() => this.#credentialsOf(deviceId));
  }

  async revokeCredential(
    deviceId: string,
    credentialId: string,
    context: WriteContext,
    at?: Date,
  ): Promise<Credential> {
    return this.#write(context, 'credential.revoke', () => {
      const before = this.#state.credentials.get(credentialId);
      if (!before || before.deviceId !== deviceId)
        throw notFound(`device ${deviceId} has no credential ${credentialId}`);
      const revokedAt = at ?? this.#now();
      // An earlier revocation stands: revoking again never reopens an overlap window.
      if (before.revokedAt && before.revokedAt <= revokedAt) return before;
      const after = { ...before, revokedAt };
      this.#state.credentials.set(credentialId, after);
      this.#record(context, 'credential.revoke', credentialId, before, after);
      this.#emit({ kind: 'credential', deviceId, credentialId });
      return after;
    });
  }

  async revokeAllCredentials(deviceId: string, context: WriteContext): Promise<number> {
    return this.#write(context, 'credential.revoke-all', () => {
      this.#requireDevice(deviceId);
      const now = this.#now();
      const revoked: Credential[] = [];
      for (const credential of this.#credentialsOf(deviceId))
        if (!isRevoked(credential, now)) {
          const after = { ...credential, revokedAt: now };
          this.#state.credentials.set(credential.id, after);
          revoked.push(after);
        }
      this.#record(context, 'credential.revoke-all', deviceId, undefined, {
        credentialIds: revoked.map((c) => c.id),
      });
      for (const credential of revoked)
        this.#emit({ kind: 'credential', deviceId, credentialId: credential.id });
      return revoked.length;
    });
  }

  async findCredentials(lookup: CredentialLookup): Promise<DeviceCredentials | undefined> {
    return this.#read(() => {
      const now = this.#now();
      const live = [...this.#state.credentials.values()].filter((c) => !isRevoked(c, now));
      if (lookup.kind === 'password' || lookup.kind === 'sas') {
        const device =
          lookup.kind === 'password'
            ? [...this.#state.devices.values()].find((d) => d.username === lookup.username)
            : this.#state.devices.get(lookup.deviceId);
        if (!device) return undefined;
        return {
          device,
          credentials: live.filter((c) => c.deviceId === device.id && c.kind === lookup.kind),
        };
      }
      const matching = live.filter((c) =>
        lookup.kind === 'psk'
          ? c.kind === 'psk' && c.identity === lookup.identity
          : c.kind === 'x509' &&
            ('fingerprint' in lookup
              ? c.fingerprint === normalizeFingerprint(lookup.fingerprint)
              : c.issuer === lookup.issuer && c.serial === lookup.serial),
      );
      const device = matching[0] && this.#state.devices.get(matching[0].deviceId);
      return device ? { device, credentials: matching } : undefined;
    });
  }

  async touchCredential(credentialId: string, at: Date): Promise<void> {
    this.#read(() => {
      const credential = this.#state.credentials.get(credentialId);
      if (credential) this.#state.credentials.set(credentialId, { ...credential, lastUsedAt: new Date(at) });
    });
  }

  // Signing keys

  async listSigningKeys(): Promise<readonly SigningKey[]> {
    return this.#read(() => [...this.#state.signingKeys.values()]);
  }

  async addSigningKey(key: SigningKey, context: WriteContext): Promise<void> {
    return this.#write(context, 'signing-key.create', () => {
      if (this.#state.signingKeys.has(key.kid)) return;
      const stored = structuredClone(key);
      this.#state.signingKeys.set(key.kid, stored);
      this.#record(context, 'signing-key.create', key.kid, undefined, stored);
      this.#emit({ kind: 'signing-key', kid: key.kid });
    });
  }

  // Policy versions

  async addPolicyVersion(
    input: { readonly text: string; readonly format: 'yaml' | 'json'; readonly comment?: string },
    context: WriteContext,
  ): Promise<PolicyVersion> {
    return this.#write(context, 'policy.create', () => {
      const version = Math.max(0, ...this.#state.policies.keys()) + 1;
      const policy: PolicyVersion = {
        version,
        text: input.text,
        format: input.format,
        createdAt: this.#now(),
        createdBy: context.actor,
        ...(input.comment !== undefined && { comment: input.comment }),
        active: false,
      };
      this.#state.policies.set(version, policy);
      this.#record(context, 'policy.create', String(version), undefined, policy);
      this.#emit({ kind: 'policy', version });
      return policy;
    });
  }

  async getPolicyVersion(version: number): Promise<PolicyVersion | undefined> {
    return this.#read(() => this.#state.policies.get(version));
  }

  async listPolicyVersions(): Promise<readonly PolicyVersion[]> {
    return this.#read(() => [...this.#state.policies.values()].sort((a, b) => a.version - b.version));
  }

  async activePolicyVersion(): Promise<PolicyVersion | undefined> {
    return this.#read(() => [...this.#state.policies.values()].find((p) => p.active));
  }

  async activatePolicyVersion(
    version: number,
    context: WriteContext,
    expectedActive?: number,
  ): Promise<PolicyVersion> {
    return this.#write(context, 'policy.activate', () => {
      const target = this.#state.policies.get(version);
      if (!target) throw notFound(`there is no policy version ${version}`);
      const current = [...this.#state.policies.values()].find((p) => p.active);
      if (expectedActive !== undefined && (current?.version ?? 0) !== expectedActive)
        throw conflict(
          `policy version ${current?.version ?? 0} is active, not ${expectedActive}: reload and retry`,
        );
      if (current?.version === version) return target;
      if (current) this.#state.policies.set(current.version, { ...current, active: false });
      const activated = { ...target, active: true };
      this.#state.policies.set(version, activated);
      this.#record(context, 'policy.activate', String(version), current && { version: current.version }, {
        version,
      });
      this.#emit({ kind: 'policy', version });
      return activated;
    });
  }

  // Sessions

  async putSession(record: SessionRecord): Promise<void> {
    requireSessionKeys(record.username, record.clientId);
    this.#read(() => {
      this.#state.sessions.set(sessionKey(record.username, record.clientId), structuredClone(record));
    });
  }

  async getSession(username: string, clientId: string): Promise<SessionRecord | undefined> {
    return this.#read(() => {
      const key = sessionKey(username, clientId);
      const session = this.#state.sessions.get(key);
      if (session && session.expiresAt <= this.#now()) {
        this.#state.sessions.delete(key);
        return undefined;
      }
      return session;
    });
  }

  async deleteSession(username: string, clientId: string): Promise<void> {
    this.#read(() => {
      this.#state.sessions.delete(sessionKey(username, clientId));
    });
  }

  // Admin tokens

  async createAdminToken(
    token: Omit<AdminToken, 'createdAt' | 'revokedAt' | 'createdBy'>,
    context: WriteContext,
  ): Promise<AdminToken> {
    return this.#write(context, 'admin-token.create', () => {
      if (this.#state.tokens.has(token.id)) throw exists(`an admin token with id ${token.id} exists`);
      const stored: AdminToken = {
        ...structuredClone(token),
        createdAt: this.#now(),
        createdBy: context.actor,
      };
      this.#state.tokens.set(token.id, stored);
      this.#record(context, 'admin-token.create', token.id, undefined, stored);
      this.#emit({ kind: 'admin-token', tokenId: token.id });
      return stored;
    });
  }

  async getAdminToken(id: string): Promise<AdminToken | undefined> {
    return this.#read(() => this.#state.tokens.get(id));
  }

  async listAdminTokens(): Promise<readonly AdminToken[]> {
    return this.#read(() => [...this.#state.tokens.values()]);
  }

  async revokeAdminToken(id: string, context: WriteContext): Promise<AdminToken> {
    return this.#write(context, 'admin-token.revoke', () => {
      const before = this.#state.tokens.get(id);
      if (!before) throw notFound(`there is no admin token ${id}`);
      if (before.revokedAt) return before;
      const after = { ...before, revokedAt: this.#now() };
      this.#state.tokens.set(id, after);
      this.#record(context, 'admin-token.revoke', id, before, after);
      this.#emit({ kind: 'admin-token', tokenId: id });
      return after;
    });
  }

  // Audit

  async listAuditRecords(query: { readonly after?: number; readonly limit?: number } = {}) {
    return this.#read(() => {
      const after = query.after ?? 0;
      return this.#audit.filter((r) => r.id > after).slice(0, pageSize(query.limit));
    });
  }

  // Change feed

  async currentEpoch(): Promise<number> {
    return this.#read(() => this.#changes.length);
  }

  async changesSince(epoch: number, limit?: number): Promise<readonly RegistryChange[]> {
    return this.#read(() =>
      this.#changes.slice(Math.max(0, epoch), Math.max(0, epoch) + pageSize(limit, 1000)),
    );
  }

  onChange(listener: (change: RegistryChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async ping(): Promise<boolean> {
    return !this.#closed;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
  }

  // Internals

  /** Runs a read (or an unaudited runtime write) and returns a copy, so callers never share records. */
  #read<T>(run: () => T): T {
    if (this.#closed) throw new UnavailableError('the registry is closed');
    return structuredClone(run());
  }

  /** Runs an audited write once per idempotency key and actor; a retry gets a copy of the first result. */
  #write<T>(context: WriteContext, action: string, run: () => T): T {
    if (this.#closed) throw new UnavailableError('the registry is closed');
    const key =
      context.idempotencyKey === undefined ? undefined : `${context.actor}\0${context.idempotencyKey}`;
    const now = this.#now().getTime();
    for (const [k, entry] of this.#idempotency)
      if (now - entry.at > IDEMPOTENCY_TTL_MS) this.#idempotency.delete(k);
    const previous = key === undefined ? undefined : this.#idempotency.get(key);
    if (previous) {
      if (previous.action !== action)
        throw conflict(
          `idempotency key ${context.idempotencyKey} was used for ${previous.action}: use a new key`,
        );
      return structuredClone(previous.result) as T;
    }
    const result = structuredClone(run());
    if (key !== undefined) this.#idempotency.set(key, { action, result: structuredClone(result), at: now });
    return result;
  }

  #record(context: WriteContext, action: string, target: string, before: unknown, after: unknown): void {
    this.#audit.push({
      id: this.#audit.length + 1,
      at: this.#now(),
      actor: context.actor,
      action,
      target,
      ...(before !== undefined && { before: auditSnapshot(before) }),
      ...(after !== undefined && { after: auditSnapshot(after) }),
    });
  }

  #emit(body: ChangeBody): void {
    const change = { ...body, epoch: this.#changes.length + 1 } as RegistryChange;
    this.#changes.push(change);
    for (const listener of this.#listeners) {
      try {
        listener(structuredClone(change));
      } catch {
        // A failing listener must not undo a committed write or starve the others.
      }
    }
  }

  #snapshot(): State {
    const s = this.#state;
    this.#state = {
      devices: new Map(s.devices),
      credentials: new Map(s.credentials),
      signingKeys: new Map(s.signingKeys),
      policies: new Map(s.policies),
      sessions: new Map(s.sessions),
      tokens: new Map(s.tokens),
    };
    return s;
  }

  #requireDevice(id: string, expectedVersion?: number): Device {
    const device = this.#state.devices.get(id);
    if (!device) throw notFound(`there is no device ${id}`);
    if (expectedVersion !== undefined && device.version !== expectedVersion)
      throw conflict(
        `device ${id} is at version ${device.version}, not ${expectedVersion}: reload and retry`,
      );
    return device;
  }

  #requireFreeUsername(username: string, deviceId: string): void {
    for (const device of this.#state.devices.values())
      if (device.username === username && device.id !== deviceId)
        throw exists(`username ${username} is taken by device ${device.id}`);
  }

  #requireFreeCredential(credential: Credential): void {
    for (const other of this.#state.credentials.values()) {
      if (credential.kind === 'psk' && other.kind === 'psk' && other.identity === credential.identity)
        throw exists(`PSK identity ${credential.identity} is taken`);
      if (credential.kind === 'x509' && other.kind === 'x509') {
        if (credential.fingerprint !== undefined && other.fingerprint === credential.fingerprint)
          throw exists(
            `certificate fingerprint ${credential.fingerprint} is bound to device ${other.deviceId}`,
          );
        if (
          credential.issuer !== undefined &&
          other.issuer === credential.issuer &&
          other.serial === credential.serial
        )
          throw exists(
            `certificate ${credential.issuer} #${credential.serial} is bound to device ${other.deviceId}`,
          );
      }
    }
  }

  #credentialsOf(deviceId: string): Credential[] {
    return [...this.#state.credentials.values()].filter((c) => c.deviceId === deviceId);
  }
}

/** Ids sort by code point, as PostgreSQL's "C" collation sorts them, so cursors agree across stores. */
function compareIds(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function sessionKey(username: string, clientId: string): string {
  return JSON.stringify([username, clientId]);
}

const exists = (message: string) => new RegistryError('ERR_REGISTRY_EXISTS', message);
const notFound = (message: string) => new RegistryError('ERR_REGISTRY_NOT_FOUND', message);
const conflict = (message: string) => new RegistryError('ERR_REGISTRY_CONFLICT', message);

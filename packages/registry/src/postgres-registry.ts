import { ConfigError, InvalidInputError, UnavailableError, WardenError } from '@mqtt-warden/core';
import postgres from 'postgres';
import { auditSnapshot } from './audit-snapshot.js';
import type { Credential, CredentialInput, CredentialLookup, DeviceCredentials } from './credential.js';
import type { Device, DeviceInput, DevicePage, DevicePatch, DeviceQuery } from './device.js';
import { migrateRegistry } from './migrate-registry.js';
import { LATEST_MIGRATION } from './migrations.js';
import { connectionOptions, schemaName, unavailable } from './postgres-connection.js';
import {
  type ChangeBody,
  IDEMPOTENCY_TTL_MS,
  newCredential,
  newDevice,
  normalizeFingerprint,
  pageSize,
  patchDevice,
  replaceDevice,
  requireSessionKeys,
  unstorable,
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
import { missingEncryptionKey, SecretBox } from './secret-box.js';

export interface PostgresRegistryOptions {
  /** `postgres://user:password@host:port/db` */
  readonly url: string;
  /** Default `mqtt_warden`. */
  readonly schema?: string;
  /**
   * 32-byte keys (or base64) that encrypt PSK keys, SAS keys and private signing keys, newest first:
   * the first encrypts, all decrypt. Without one, those secrets cannot be written.
   */
  readonly encryptionKeys?: readonly (Uint8Array | string)[];
  /** Connections in the pool (default 10). The change feed holds one more. */
  readonly poolSize?: number;
  /** `statement_timeout` of every connection (default 5,000 ms): a stuck query fails as ERR_UNAVAILABLE. */
  readonly statementTimeoutMs?: number;
  /** Apply pending migrations before opening (default false: refuse to open an old schema). */
  readonly migrate?: boolean;
  /** How often the change feed checks the epoch in case a notification was lost (default 5,000 ms). */
  readonly epochCheckMs?: number;
  /** How often expired sessions, idempotency keys and old change-log rows are deleted (default 60,000 ms). */
  readonly cleanupMs?: number;
  /** The clock for every stored timestamp and expiry check (default `() => new Date()`). */
  readonly now?: () => Date;
  /** Told about a change-feed failure (it retries by itself). Never given secrets. */
  readonly onFeedError?: (error: unknown) => void;
}

/** Change-log rows are kept this long; a replica away for longer starts with empty caches anyway. */
const CHANGE_LOG_TTL_MS = 24 * 60 * 60 * 1000;
/** Rows per bulk statement in an import. */
const IMPORT_BATCH = 5000;

type Sql = postgres.Sql;
type Tx = postgres.TransactionSql;
type Row = Record<string, unknown>;

/** What a write collects while it runs; committed with it. */
interface Writes {
  audit(target: string, before: unknown, after: unknown, action?: string): void;
  emit(change: ChangeBody): void;
}

/**
 * Opens the PostgreSQL registry: every write is one transaction with its audit record, its change-log
 * row and a `NOTIFY`, so each replica's change feed hears it; secrets are sealed with AES-256-GCM.
 * Database failures surface as `UnavailableError` (`ERR_UNAVAILABLE`), never as "not found".
 *
 * @example
 * ```ts
 * const store = await createPostgresRegistry({
 *   url: 'postgres://warden@db/warden',
 *   encryptionKeys: [process.env.WARDEN_STORE_KEY!],
 *   migrate: true,
 * });
 * store.onChange((change) => console.log('changed', change.kind, change.epoch));
 * ```
 */
export async function createPostgresRegistry(options: PostgresRegistryOptions): Promise<RegistryStore> {
  const schema = schemaName(options.schema);
  const box = options.encryptionKeys?.length ? new SecretBox(options.encryptionKeys) : undefined;
  const statementTimeoutMs = options.statementTimeoutMs ?? 5000;
  if (options.migrate) await migrateRegistry({ url: options.url, schema });
  const sql: Sql = postgres(options.url, {
    ...connectionOptions(statementTimeoutMs, schema),
    max: options.poolSize ?? 10,
  });
  try {
    const store = new PostgresRegistry(sql, schema, box, options);
    await store.open(true);
    return store;
  } catch (error) {
    await sql.end({ timeout: 1 });
    throw unavailable(error) ?? error;
  }
}

/**
 * Re-encrypts every sealed secret (PSK keys, SAS keys, private signing keys) under the newest of
 * `encryptionKeys`, `batchSize` rows (default 500) per transaction. Idempotent: values already under the
 * newest key are skipped, so an interrupted run is simply run again. Returns how many it re-encrypted.
 *
 * @example
 * ```ts
 * await rotateEncryptionKey({
 *   url: 'postgres://warden@db/warden',
 *   encryptionKeys: [newKey, oldKey],
 *   onProgress: (done, total) => console.log(`${done}/${total}`),
 * });
 * ```
 */
export async function rotateEncryptionKey(
  options: PostgresRegistryOptions & {
    readonly batchSize?: number;
    readonly onProgress?: (done: number, total: number) => void;
  },
): Promise<number> {
  if (!options.encryptionKeys?.length) throw missingEncryptionKey('stored secrets');
  const box = new SecretBox(options.encryptionKeys);
  const schema = schemaName(options.schema);
  const sql: Sql = postgres(options.url, {
    ...connectionOptions(options.statementTimeoutMs ?? 60_000, schema),
    max: 1,
  });
  const store = new PostgresRegistry(sql, schema, box, options);
  try {
    await store.open(false);
    return await store.rotateEncryptionKey(options);
  } finally {
    await store.close();
  }
}

class PostgresRegistry implements RegistryStore {
  readonly #sql: Sql;
  readonly #schema: string;
  readonly #box: SecretBox | undefined;
  readonly #now: () => Date;
  readonly #options: PostgresRegistryOptions;
  readonly #channel: string;
  readonly #listeners = new Set<(change: RegistryChange) => void>();
  readonly #timers: NodeJS.Timeout[] = [];
  #listen: postgres.ListenMeta | undefined;
  #lastEpoch = 0;
  #catchingUp: Promise<void> | undefined;
  #catchUpAgain = false;
  #feedBroken = false;
  #closed = false;

  constructor(sql: Sql, schema: string, box: SecretBox | undefined, options: PostgresRegistryOptions) {
    this.#sql = sql;
    this.#schema = schema;
    this.#box = box;
    this.#now = options.now ?? (() => new Date());
    this.#options = options;
    this.#channel = `mqtt_warden_registry_${schema}`;
  }

  #t(name: string) {
    return this.#sql(`${this.#schema}.${name}`);
  }

  /** Checks the schema version and, with `feed`, starts the change feed and the periodic jobs. */
  async open(feed: boolean): Promise<void> {
    const [row] = await this.#sql<{ version: number | null }[]>`
      SELECT max(version) AS version FROM ${this.#t('schema_migrations')}`.catch((error) => {
      throw unavailable(error) ?? error;
    });
    const version = row?.version ?? 0;
    if (version < LATEST_MIGRATION)
      throw new ConfigError(
        `the registry schema ${this.#schema} is at version ${version}, this mqtt-warden needs ${LATEST_MIGRATION}: run "mqtt-warden migrate --config FILE" or set store.postgres.migrateOnStart`,
      );
    if (!feed) return;
    this.#lastEpoch = await this.currentEpoch();
    await this.#startListening();
    const check = setInterval(() => void this.#checkEpoch(), this.#options.epochCheckMs ?? 5000);
    const cleanup = setInterval(() => void this.cleanup().catch(() => {}), this.#options.cleanupMs ?? 60_000);
    check.unref();
    cleanup.unref();
    this.#timers.push(check, cleanup);
  }

  // Devices

  async createDevice(input: DeviceInput, context: WriteContext): Promise<Device> {
    return this.#write(context, 'device.create', async (tx, w) => {
      const device = newDevice(input, this.#now());
      await tx`INSERT INTO ${this.#t('devices')} ${tx(deviceRow(device))}`;
      w.audit(device.id, undefined, device);
      w.emit({ kind: 'device', deviceId: device.id, username: device.username });
      return device;
    });
  }

  async getDevice(id: string): Promise<Device | undefined> {
    return this.#read(async (sql) => {
      if (unstorable(id)) return undefined;
      const [row] = await sql`SELECT * FROM ${this.#t('devices')} WHERE id = ${id}`;
      return row && toDevice(row);
    });
  }

  async listDevices(query: DeviceQuery = {}): Promise<DevicePage> {
    const limit = pageSize(query.limit);
    return this.#read(async (sql) => {
      const rows = await sql`
        SELECT * FROM ${this.#t('devices')} WHERE true
        ${query.after === undefined ? sql`` : sql`AND id > ${query.after}`}
        ${query.enabled === undefined ? sql`` : sql`AND enabled = ${query.enabled}`}
        ${query.role === undefined ? sql`` : sql`AND roles @> ${[query.role]}::text[]`}
        ${query.group === undefined ? sql`` : sql`AND groups @> ${[query.group]}::text[]`}
        ${query.idPrefix === undefined ? sql`` : sql`AND starts_with(id, ${query.idPrefix})`}
        ORDER BY id LIMIT ${limit + 1}`;
      const devices = rows.slice(0, limit).map(toDevice);
      return rows.length > limit ? { devices, next: devices.at(-1)!.id } : { devices };
    });
  }

  async updateDevice(
    id: string,
    patch: DevicePatch,
    context: WriteContext,
    expectedVersion?: number,
  ): Promise<Device> {
    return this.#write(context, 'device.update', async (tx, w) => {
      const before = await this.#requireDevice(tx, id, expectedVersion);
      const after = patchDevice(before, patch, this.#now());
      const { id: _, created_at: __, ...row } = deviceRow(after);
      await tx`UPDATE ${this.#t('devices')} SET ${tx(row)} WHERE id = ${id}`;
      w.audit(id, before, after);
      w.emit({ kind: 'device', deviceId: id, username: before.username });
      if (after.username !== before.username)
        w.emit({ kind: 'device', deviceId: id, username: after.username });
      return after;
    });
  }

  async deleteDevice(id: string, context: WriteContext, expectedVersion?: number): Promise<boolean> {
    return this.#write(context, 'device.delete', async (tx, w) => {
      const [row] = await tx`SELECT * FROM ${this.#t('devices')} WHERE id = ${id}`;
      if (!row) return false;
      const before = await this.#requireDevice(tx, id, expectedVersion);
      await tx`DELETE FROM ${this.#t('sessions')} WHERE device_id = ${id}`;
      await tx`DELETE FROM ${this.#t('credentials')} WHERE device_id = ${id}`;
      await tx`DELETE FROM ${this.#t('devices')} WHERE id = ${id}`;
      w.audit(id, before, undefined);
      w.emit({ kind: 'device', deviceId: id, username: before.username });
      return true;
    });
  }

  async importDevices(rows: readonly DeviceImportRow[], context: WriteContext): Promise<ImportResult> {
    return this.#write(context, 'device.import', async (tx, w) => {
      const now = this.#now();
      const ids = rows.map((row) => row.device.id);
      if (new Set(ids).size !== ids.length)
        throw new InvalidInputError('a device id appears twice in the import');
      // Only what a replacement keeps (creation time, version) and what a rename must announce.
      const existing = new Map<string, Pick<Device, 'username' | 'createdAt' | 'version'>>();
      for (let i = 0; i < ids.length; i += IMPORT_BATCH)
        for (const row of await tx`
          SELECT id, username, created_at, version FROM ${this.#t('devices')}
          WHERE id = ANY(${ids.slice(i, i + IMPORT_BATCH)}::text[])`)
          existing.set(row.id as string, {
            username: row.username as string,
            createdAt: row.created_at as Date,
            version: row.version as number,
          });
      const devices = rows.map((row) => replaceDevice(existing.get(row.device.id), row.device, now));
      const credentials = rows.flatMap((row) =>
        (row.credentials ?? []).map((input) => this.#credentialRow(newCredential(row.device.id, input, now))),
      );
      if (new Set(credentials.map((c) => c.id)).size !== credentials.length)
        throw new InvalidInputError('a credential id appears twice in the import');
      // unnest of one text[] per column: one statement per batch, parsed once, no per-row parameters.
      for (let i = 0; i < devices.length; i += IMPORT_BATCH) {
        const batch = devices.slice(i, i + IMPORT_BATCH);
        const column = (pick: (d: Device) => string | null) => batch.map(pick);
        await tx`
          INSERT INTO ${this.#t('devices')}
          SELECT d.id, d.username, d.client_ids::text[], d.roles::text[], d.groups::text[], d.attributes::jsonb,
            d.enabled::boolean, d.not_before::timestamptz, d.expires_at::timestamptz, d.created_at::timestamptz,
            ${now}, d.version::integer
          FROM unnest(
            ${column((d) => d.id)}::text[], ${column((d) => d.username)}::text[],
            ${column((d) => arrayLiteral(d.clientIds))}::text[], ${column((d) => arrayLiteral(d.roles))}::text[],
            ${column((d) => arrayLiteral(d.groups))}::text[], ${column((d) => JSON.stringify(d.attributes))}::text[],
            ${column((d) => String(d.enabled))}::text[], ${column((d) => d.notBefore?.toISOString() ?? null)}::text[],
            ${column((d) => d.expiresAt?.toISOString() ?? null)}::text[],
            ${column((d) => d.createdAt.toISOString())}::text[], ${column((d) => String(d.version))}::text[]
          ) AS d(id, username, client_ids, roles, groups, attributes, enabled, not_before, expires_at, created_at, version)
          ON CONFLICT (id) DO UPDATE SET username = excluded.username, client_ids = excluded.client_ids,
            roles = excluded.roles, groups = excluded.groups, attributes = excluded.attributes,
            enabled = excluded.enabled, not_before = excluded.not_before, expires_at = excluded.expires_at,
            updated_at = excluded.updated_at, version = excluded.version`;
      }
      for (let i = 0; i < credentials.length; i += IMPORT_BATCH) {
        const batch = credentials.slice(i, i + IMPORT_BATCH);
        const column = (pick: (c: (typeof batch)[number]) => string | null) => batch.map(pick);
        const written = await tx`
          INSERT INTO ${this.#t('credentials')}
            (id, device_id, kind, password_hash, psk_identity, sealed_key, fingerprint, issuer, serial, created_at, expires_at)
          SELECT c.id, c.device_id, c.kind, c.password_hash, c.psk_identity, c.sealed_key, c.fingerprint, c.issuer,
            c.serial, ${now}, c.expires_at::timestamptz
          FROM unnest(
            ${column((c) => c.id)}::text[], ${column((c) => c.device_id)}::text[], ${column((c) => c.kind)}::text[],
            ${column((c) => c.password_hash)}::text[], ${column((c) => c.psk_identity)}::text[],
            ${column((c) => c.sealed_key)}::text[], ${column((c) => c.fingerprint)}::text[],
            ${column((c) => c.issuer)}::text[], ${column((c) => c.serial)}::text[],
            ${column((c) => c.expires_at?.toISOString() ?? null)}::text[]
          ) AS c(id, device_id, kind, password_hash, psk_identity, sealed_key, fingerprint, issuer, serial, expires_at)
          ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, password_hash = excluded.password_hash,
            psk_identity = excluded.psk_identity, sealed_key = excluded.sealed_key, fingerprint = excluded.fingerprint,
            issuer = excluded.issuer, serial = excluded.serial, created_at = excluded.created_at,
            expires_at = excluded.expires_at, last_used_at = NULL, revoked_at = NULL
            WHERE ${this.#t('credentials')}.device_id = excluded.device_id
          RETURNING 1`;
        if (written.length !== batch.length)
          throw new RegistryError(
            'ERR_REGISTRY_EXISTS',
            'a credential id of the import exists on another device',
          );
      }
      for (const device of devices) {
        const old = existing.get(device.id);
        if (old && old.username !== device.username)
          w.emit({ kind: 'device', deviceId: device.id, username: old.username });
        w.emit({ kind: 'device', deviceId: device.id, username: device.username });
      }
      const result = { created: devices.length - existing.size, updated: existing.size };
      w.audit(`${rows.length} devices`, undefined, { ...result, deviceIds: ids });
      return result;
    });
  }

  // Credentials

  async addCredential(deviceId: string, input: CredentialInput, context: WriteContext): Promise<Credential> {
    return this.#write(context, 'credential.create', async (tx, w) => {
      await this.#requireDevice(tx, deviceId);
      const credential = newCredential(deviceId, input, this.#now());
      await tx`INSERT INTO ${this.#t('credentials')} ${tx(this.#credentialRow(credential))}`;
      w.audit(credential.id, undefined, credential);
      w.emit({ kind: 'credential', deviceId, credentialId: credential.id });
      return credential;
    });
  }

  async listCredentials(deviceId: string): Promise<readonly Credential[]> {
    if (unstorable(deviceId)) return [];
    return this.#read(async (sql) =>
      (
        await sql`SELECT * FROM ${this.#t('credentials')} WHERE device_id = ${deviceId} ORDER BY created_at, id`
      ).map((row) => this.#toCredential(row)),
    );
  }

  async revokeCredential(
    deviceId: string,
    credentialId: string,
    context: WriteContext,
    at?: Date,
  ): Promise<Credential> {
    return this.#write(context, 'credential.revoke', async (tx, w) => {
      const [row] = await tx`
        SELECT * FROM ${this.#t('credentials')} WHERE id = ${credentialId} AND device_id = ${deviceId}`;
      if (!row)
        throw new RegistryError(
          'ERR_REGISTRY_NOT_FOUND',
          `device ${deviceId} has no credential ${credentialId}`,
        );
      const before = this.#toCredential(row);
      const revokedAt = at ?? this.#now();
      // An earlier revocation stands: revoking again never reopens an overlap window.
      if (before.revokedAt && before.revokedAt <= revokedAt) return before;
      await tx`UPDATE ${this.#t('credentials')} SET revoked_at = ${revokedAt} WHERE id = ${credentialId}`;
      const after = { ...before, revokedAt };
      w.audit(credentialId, before, after);
      w.emit({ kind: 'credential', deviceId, credentialId });
      return after;
    });
  }

  async revokeAllCredentials(deviceId: string, context: WriteContext): Promise<number> {
    return this.#write(context, 'credential.revoke-all', async (tx, w) => {
      await this.#requireDevice(tx, deviceId);
      const now = this.#now();
      const revoked = await tx<{ id: string }[]>`
        UPDATE ${this.#t('credentials')} SET revoked_at = ${now}
        WHERE device_id = ${deviceId} AND (revoked_at IS NULL OR revoked_at > ${now})
        RETURNING id`;
      const credentialIds = revoked.map((r) => r.id).sort();
      w.audit(deviceId, undefined, { credentialIds });
      for (const credentialId of credentialIds) w.emit({ kind: 'credential', deviceId, credentialId });
      return revoked.length;
    });
  }

  async findCredentials(lookup: CredentialLookup): Promise<DeviceCredentials | undefined> {
    const now = this.#now();
    return this.#read(async (sql) => {
      if (unstorable(...Object.values(lookup))) return undefined;
      const live = sql`(c.revoked_at IS NULL OR c.revoked_at > ${now})`;
      const credentials = this.#t('credentials');
      if (lookup.kind === 'password' || lookup.kind === 'sas') {
        const [device] =
          lookup.kind === 'password'
            ? await sql`SELECT * FROM ${this.#t('devices')} WHERE username = ${lookup.username}`
            : await sql`SELECT * FROM ${this.#t('devices')} WHERE id = ${lookup.deviceId}`;
        if (!device) return undefined;
        const rows = await sql`
          SELECT * FROM ${credentials} c WHERE c.device_id = ${device.id as string} AND c.kind = ${lookup.kind} AND ${live}
          ORDER BY c.created_at, c.id`;
        return { device: toDevice(device), credentials: rows.map((row) => this.#toCredential(row)) };
      }
      const match =
        lookup.kind === 'psk'
          ? sql`c.kind = 'psk' AND c.psk_identity = ${lookup.identity}`
          : 'fingerprint' in lookup
            ? sql`c.fingerprint = ${normalizeFingerprint(lookup.fingerprint)}`
            : sql`c.issuer = ${lookup.issuer} AND c.serial = ${lookup.serial}`;
      const rows = await sql`SELECT * FROM ${credentials} c WHERE ${match} AND ${live}`;
      if (rows.length === 0) return undefined;
      const [device] =
        await sql`SELECT * FROM ${this.#t('devices')} WHERE id = ${rows[0]!.device_id as string}`;
      return device && { device: toDevice(device), credentials: rows.map((row) => this.#toCredential(row)) };
    });
  }

  async touchCredential(credentialId: string, at: Date): Promise<void> {
    // Coarsened to a minute: a login storm costs one write per credential per minute, not per login.
    if (unstorable(credentialId)) return;
    await this.#read(
      (sql) => sql`
        UPDATE ${this.#t('credentials')} SET last_used_at = ${at}
        WHERE id = ${credentialId} AND (last_used_at IS NULL OR last_used_at < ${new Date(at.getTime() - 60_000)})`,
    );
  }

  // Signing keys

  async listSigningKeys(): Promise<readonly SigningKey[]> {
    return this.#read(async (sql) =>
      (await sql`SELECT * FROM ${this.#t('signing_keys')} ORDER BY created_at, kid`).map((row) => ({
        kid: row.kid as string,
        alg: row.alg as string,
        privateJwk: JSON.parse(
          Buffer.from(
            this.#requireBox('private signing keys').open(
              row.sealed_private_jwk as string,
              `signing-key:${row.kid}`,
            ),
          ).toString('utf8'),
        ),
        publicJwk: row.public_jwk as SigningKey['publicJwk'],
        createdAt: row.created_at as Date,
        ...(row.retires_at !== null && { retiresAt: row.retires_at as Date }),
      })),
    );
  }

  async addSigningKey(key: SigningKey, context: WriteContext): Promise<void> {
    return this.#write(context, 'signing-key.create', async (tx, w) => {
      const sealed = this.#requireBox('private signing keys').seal(
        Buffer.from(JSON.stringify(key.privateJwk), 'utf8'),
        `signing-key:${key.kid}`,
      );
      const inserted = await tx`
        INSERT INTO ${this.#t('signing_keys')} (kid, alg, sealed_private_jwk, public_jwk, created_at, retires_at)
        VALUES (${key.kid}, ${key.alg}, ${sealed}, ${tx.json(key.publicJwk as never)}, ${key.createdAt}, ${key.retiresAt ?? null})
        ON CONFLICT (kid) DO NOTHING RETURNING kid`;
      if (inserted.length === 0) return;
      w.audit(key.kid, undefined, key);
      w.emit({ kind: 'signing-key', kid: key.kid });
    });
  }

  // Policy versions

  async addPolicyVersion(
    input: { readonly text: string; readonly format: 'yaml' | 'json'; readonly comment?: string },
    context: WriteContext,
  ): Promise<PolicyVersion> {
    return this.#write(context, 'policy.create', async (tx, w) => {
      const [row] = await tx`
        INSERT INTO ${this.#t('policy_versions')} (version, text, format, created_at, created_by, comment)
        SELECT coalesce(max(version), 0) + 1, ${input.text}, ${input.format}, ${this.#now()}, ${context.actor},
          ${input.comment ?? null}
        FROM ${this.#t('policy_versions')}
        RETURNING *`;
      const policy = toPolicy(row!);
      w.audit(String(policy.version), undefined, policy);
      w.emit({ kind: 'policy', version: policy.version });
      return policy;
    });
  }

  async getPolicyVersion(version: number): Promise<PolicyVersion | undefined> {
    return this.#read(async (sql) => {
      const [row] = await sql`SELECT * FROM ${this.#t('policy_versions')} WHERE version = ${version}`;
      return row && toPolicy(row);
    });
  }

  async listPolicyVersions(): Promise<readonly PolicyVersion[]> {
    return this.#read(async (sql) =>
      (await sql`SELECT * FROM ${this.#t('policy_versions')} ORDER BY version`).map(toPolicy),
    );
  }

  async activePolicyVersion(): Promise<PolicyVersion | undefined> {
    return this.#read(async (sql) => {
      const [row] = await sql`SELECT * FROM ${this.#t('policy_versions')} WHERE active`;
      return row && toPolicy(row);
    });
  }

  async activatePolicyVersion(
    version: number,
    context: WriteContext,
    expectedActive?: number,
  ): Promise<PolicyVersion> {
    return this.#write(context, 'policy.activate', async (tx, w) => {
      const [target] = await tx`SELECT * FROM ${this.#t('policy_versions')} WHERE version = ${version}`;
      if (!target) throw new RegistryError('ERR_REGISTRY_NOT_FOUND', `there is no policy version ${version}`);
      const [current] = await tx<{ version: number }[]>`
        SELECT version FROM ${this.#t('policy_versions')} WHERE active`;
      if (expectedActive !== undefined && (current?.version ?? 0) !== expectedActive)
        throw new RegistryError(
          'ERR_REGISTRY_CONFLICT',
          `policy version ${current?.version ?? 0} is active, not ${expectedActive}: reload and retry`,
        );
      if (current?.version === version) return toPolicy(target);
      await tx`UPDATE ${this.#t('policy_versions')} SET active = false WHERE active`;
      const [row] = await tx`
        UPDATE ${this.#t('policy_versions')} SET active = true WHERE version = ${version} RETURNING *`;
      w.audit(String(version), current && { version: current.version }, { version });
      w.emit({ kind: 'policy', version });
      return toPolicy(row!);
    });
  }

  // Sessions

  // Outside #write (no advisory lock, change-log row, NOTIFY or audit record): a session is one key whose
  // last writer wins, no replica caches it from the feed, and every login writes one, so serializing them
  // with the fleet's writes made logins wait on each other (issue 13: ~250 logins/s per replica).
  async putSession(record: SessionRecord): Promise<void> {
    requireSessionKeys(record.username, record.clientId);
    await this.#read(async (sql) => {
      const row = {
        username: record.username,
        client_id: record.clientId,
        principal: sql.json(record.principal as never),
        authenticator: record.authenticator,
        device_id: record.deviceId ?? null,
        expires_at: record.expiresAt,
      };
      await sql`
        INSERT INTO ${this.#t('sessions')} ${sql(row)}
        ON CONFLICT (username, client_id) DO UPDATE SET principal = excluded.principal,
          authenticator = excluded.authenticator, device_id = excluded.device_id, expires_at = excluded.expires_at`;
    });
  }

  async getSession(username: string, clientId: string): Promise<SessionRecord | undefined> {
    return this.#read(async (sql) => {
      if (unstorable(username, clientId)) return undefined;
      const [row] = await sql`
        SELECT * FROM ${this.#t('sessions')}
        WHERE username = ${username} AND client_id = ${clientId} AND expires_at > ${this.#now()}`;
      return (
        row && {
          username: row.username as string,
          clientId: row.client_id as string,
          principal: row.principal as SessionRecord['principal'],
          authenticator: row.authenticator as string,
          ...(row.device_id !== null && { deviceId: row.device_id as string }),
          expiresAt: row.expires_at as Date,
        }
      );
    });
  }

  async deleteSession(username: string, clientId: string): Promise<void> {
    if (unstorable(username, clientId)) return;
    await this.#read(
      (sql) =>
        sql`DELETE FROM ${this.#t('sessions')} WHERE username = ${username} AND client_id = ${clientId}`,
    );
  }

  // Admin tokens

  async createAdminToken(
    token: Omit<AdminToken, 'createdAt' | 'revokedAt' | 'createdBy'>,
    context: WriteContext,
  ): Promise<AdminToken> {
    return this.#write(context, 'admin-token.create', async (tx, w) => {
      const [row] = await tx`
        INSERT INTO ${this.#t('admin_tokens')} (id, secret_hash, scopes, description, created_at, created_by)
        VALUES (${token.id}, ${Buffer.from(token.secretHash)}, ${[...token.scopes]}::text[],
          ${token.description ?? null}, ${this.#now()}, ${context.actor})
        RETURNING *`;
      const stored = toToken(row!);
      w.audit(token.id, undefined, stored);
      w.emit({ kind: 'admin-token', tokenId: token.id });
      return stored;
    });
  }

  async getAdminToken(id: string): Promise<AdminToken | undefined> {
    return this.#read(async (sql) => {
      if (unstorable(id)) return undefined;
      const [row] = await sql`SELECT * FROM ${this.#t('admin_tokens')} WHERE id = ${id}`;
      return row && toToken(row);
    });
  }

  async listAdminTokens(): Promise<readonly AdminToken[]> {
    return this.#read(async (sql) =>
      (await sql`SELECT * FROM ${this.#t('admin_tokens')} ORDER BY created_at, id`).map(toToken),
    );
  }

  async revokeAdminToken(id: string, context: WriteContext): Promise<AdminToken> {
    return this.#write(context, 'admin-token.revoke', async (tx, w) => {
      const [row] = await tx`SELECT * FROM ${this.#t('admin_tokens')} WHERE id = ${id}`;
      if (!row) throw new RegistryError('ERR_REGISTRY_NOT_FOUND', `there is no admin token ${id}`);
      const before = toToken(row);
      if (before.revokedAt) return before;
      const [updated] = await tx`
        UPDATE ${this.#t('admin_tokens')} SET revoked_at = ${this.#now()} WHERE id = ${id} RETURNING *`;
      const after = toToken(updated!);
      w.audit(id, before, after);
      w.emit({ kind: 'admin-token', tokenId: id });
      return after;
    });
  }

  // Audit

  async listAuditRecords(query: { readonly after?: number; readonly limit?: number } = {}) {
    const limit = pageSize(query.limit);
    return this.#read(async (sql) =>
      (
        await sql`
          SELECT * FROM ${this.#t('audit_records')} WHERE id > ${query.after ?? 0} ORDER BY id LIMIT ${limit}`
      ).map(
        (row): AuditRecord => ({
          id: Number(row.id),
          at: row.at as Date,
          actor: row.actor as string,
          action: row.action as string,
          target: row.target as string,
          ...(row.before !== null && { before: row.before }),
          ...(row.after !== null && { after: row.after }),
        }),
      ),
    );
  }

  // Change feed

  async currentEpoch(): Promise<number> {
    return this.#read(async (sql) => {
      const [row] = await sql`SELECT coalesce(max(epoch), 0) AS epoch FROM ${this.#t('change_log')}`;
      return Number(row!.epoch);
    });
  }

  async changesSince(epoch: number, limit?: number): Promise<readonly RegistryChange[]> {
    const count = pageSize(limit, 1000);
    return this.#read(async (sql) =>
      (
        await sql`
          SELECT epoch, change FROM ${this.#t('change_log')} WHERE epoch > ${epoch} ORDER BY epoch LIMIT ${count}`
      ).map((row) => ({ ...(row.change as ChangeBody), epoch: Number(row.epoch) }) as RegistryChange),
    );
  }

  onChange(listener: (change: RegistryChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async ping(): Promise<boolean> {
    if (this.#closed) return false;
    try {
      await this.#sql`SELECT 1`;
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#listeners.clear();
    await this.#sql.end({ timeout: 5 });
  }

  /**
   * Deletes expired sessions, idempotency keys older than 24 h and change-log rows older than 24 h
   * (keeping the newest, so the epoch never goes back). Runs every `cleanupMs`.
   */
  async cleanup(): Promise<void> {
    const now = this.#now();
    await this.#read(async (sql) => {
      await sql`DELETE FROM ${this.#t('sessions')} WHERE expires_at <= ${now}`;
      await sql`DELETE FROM ${this.#t('idempotency_keys')} WHERE created_at < ${new Date(now.getTime() - IDEMPOTENCY_TTL_MS)}`;
      await sql`
        DELETE FROM ${this.#t('change_log')}
        WHERE at < ${new Date(now.getTime() - CHANGE_LOG_TTL_MS)}
          AND epoch < (SELECT max(epoch) FROM ${this.#t('change_log')})`;
    });
  }

  /**
   * Re-encrypts every sealed secret under the newest key, `batchSize` rows per transaction; idempotent.
   * Used by `mqtt-warden store rotate-key`.
   */
  async rotateEncryptionKey(
    options: {
      readonly batchSize?: number;
      readonly onProgress?: (done: number, total: number) => void;
    } = {},
  ): Promise<number> {
    const box = this.#requireBox('stored secrets');
    const batchSize = options.batchSize ?? 500;
    const sql = this.#sql;
    const stale = sql`NOT starts_with(sealed_key, ${`v1:${box.currentKeyId}:`})`;
    const staleKeys = sql`NOT starts_with(sealed_private_jwk, ${`v1:${box.currentKeyId}:`})`;
    return this.#read(async () => {
      const [counts] = await this.#sql`
        SELECT (SELECT count(*) FROM ${this.#t('credentials')} WHERE sealed_key IS NOT NULL AND ${stale})
             + (SELECT count(*) FROM ${this.#t('signing_keys')} WHERE ${staleKeys}) AS total`;
      const total = Number(counts!.total);
      let done = 0;
      options.onProgress?.(done, total);
      for (;;) {
        const moved = await this.#sql.begin(async (tx) => {
          const credentials = await tx`
            SELECT id, sealed_key FROM ${this.#t('credentials')} WHERE sealed_key IS NOT NULL AND ${stale}
            ORDER BY id LIMIT ${batchSize} FOR UPDATE`;
          for (const row of credentials) {
            const aad = `credential:${row.id}`;
            const resealed = box.seal(box.open(row.sealed_key as string, aad), aad);
            await tx`UPDATE ${this.#t('credentials')} SET sealed_key = ${resealed} WHERE id = ${row.id as string}`;
          }
          const keys = await tx`
            SELECT kid, sealed_private_jwk FROM ${this.#t('signing_keys')} WHERE ${staleKeys}
            ORDER BY kid LIMIT ${batchSize - credentials.length} FOR UPDATE`;
          for (const row of keys) {
            const aad = `signing-key:${row.kid}`;
            const resealed = box.seal(box.open(row.sealed_private_jwk as string, aad), aad);
            await tx`UPDATE ${this.#t('signing_keys')} SET sealed_private_jwk = ${resealed} WHERE kid = ${row.kid as string}`;
          }
          return credentials.length + keys.length;
        });
        if (moved === 0) return done;
        done += moved;
        options.onProgress?.(done, total);
      }
    });
  }

  // Internals

  #requireBox(what: string): SecretBox {
    if (!this.#box) throw missingEncryptionKey(what);
    return this.#box;
  }

  async #requireDevice(tx: Tx, id: string, expectedVersion?: number): Promise<Device> {
    const [row] = await tx`SELECT * FROM ${this.#t('devices')} WHERE id = ${id}`;
    if (!row) throw new RegistryError('ERR_REGISTRY_NOT_FOUND', `there is no device ${id}`);
    const device = toDevice(row);
    if (expectedVersion !== undefined && device.version !== expectedVersion)
      throw new RegistryError(
        'ERR_REGISTRY_CONFLICT',
        `device ${id} is at version ${device.version}, not ${expectedVersion}: reload and retry`,
      );
    return device;
  }

  /** The columns of a credential, its PSK or SAS key sealed to its id. */
  #credentialRow(c: Credential) {
    const key = c.kind === 'psk' || c.kind === 'sas' ? c.key : undefined;
    return {
      id: c.id,
      device_id: c.deviceId,
      kind: c.kind,
      password_hash: c.kind === 'password' ? c.hash : null,
      psk_identity: c.kind === 'psk' ? c.identity : null,
      sealed_key: key ? this.#requireBox('PSK and SAS keys').seal(key, `credential:${c.id}`) : null,
      fingerprint: c.kind === 'x509' ? (c.fingerprint ?? null) : null,
      issuer: c.kind === 'x509' ? (c.issuer ?? null) : null,
      serial: c.kind === 'x509' ? (c.serial ?? null) : null,
      created_at: c.createdAt,
      expires_at: c.expiresAt ?? null,
    };
  }

  #toCredential(row: Row): Credential {
    const base = {
      id: row.id as string,
      deviceId: row.device_id as string,
      createdAt: row.created_at as Date,
      ...optionalDate('expiresAt', row.expires_at),
      ...optionalDate('lastUsedAt', row.last_used_at),
      ...optionalDate('revokedAt', row.revoked_at),
    };
    const key = () =>
      this.#requireBox('PSK and SAS keys').open(row.sealed_key as string, `credential:${row.id}`);
    switch (row.kind) {
      case 'password':
        return { ...base, kind: 'password', hash: row.password_hash as string };
      case 'psk':
        return { ...base, kind: 'psk', identity: row.psk_identity as string, key: key() };
      case 'sas':
        return { ...base, kind: 'sas', key: key() };
      default:
        return {
          ...base,
          kind: 'x509',
          ...optionalText('fingerprint', row.fingerprint),
          ...optionalText('issuer', row.issuer),
          ...optionalText('serial', row.serial),
        };
    }
  }

  /** Runs a read with database failures turned into UnavailableError. */
  async #read<T>(run: (sql: Sql) => Promise<T>): Promise<T> {
    if (this.#closed) throw new UnavailableError('the registry is closed');
    try {
      return await run(this.#sql);
    } catch (error) {
      throw translate(error);
    }
  }

  /**
   * One write transaction, audited and run once per idempotency key and actor when it has a context.
   * Writers take one advisory lock, so epochs commit in order and a listener that
   * reads the change log after epoch N never misses a later-committing N-1.
   */
  async #write<T>(
    context: WriteContext | undefined,
    action: string,
    run: (tx: Tx, writes: Writes) => Promise<T>,
  ): Promise<T> {
    if (this.#closed) throw new UnavailableError('the registry is closed');
    const now = this.#now();
    try {
      return (await this.#sql.begin(async (tx) => {
        await tx`SELECT pg_advisory_xact_lock(hashtext(${`mqtt-warden registry writes ${this.#schema}`}))`;
        const key = context?.idempotencyKey;
        if (context && key !== undefined) {
          const [previous] = await tx`
            SELECT action, result FROM ${this.#t('idempotency_keys')}
            WHERE actor = ${context.actor} AND key = ${key} AND created_at > ${new Date(now.getTime() - IDEMPOTENCY_TTL_MS)}`;
          if (previous) {
            if (previous.action !== action)
              throw new RegistryError(
                'ERR_REGISTRY_CONFLICT',
                `idempotency key ${key} was used for ${previous.action}: use a new key`,
              );
            return this.#decodeResult(previous.result as string, `idempotency:${context.actor}:${key}`) as T;
          }
        }
        const audits: Row[] = [];
        const changes: ChangeBody[] = [];
        const result = await run(tx, {
          audit: (target, before, after) =>
            audits.push({
              at: now,
              actor: context!.actor,
              action,
              target,
              before: before === undefined ? null : auditSnapshot(before),
              after: after === undefined ? null : auditSnapshot(after),
            }),
          emit: (change) => changes.push(change),
        });
        for (const audit of audits) await tx`INSERT INTO ${this.#t('audit_records')} ${tx(audit as never)}`;
        if (changes.length > 0) {
          const [logged] = await tx`
            WITH inserted AS (
              INSERT INTO ${this.#t('change_log')} (change)
              SELECT value FROM jsonb_array_elements(${tx.json(changes as never)}) WITH ORDINALITY ORDER BY ordinality
              RETURNING epoch
            ) SELECT max(epoch) AS epoch FROM inserted`;
          const epoch = Number(logged!.epoch);
          // The payload is the change itself when there is one and it is small (listeners need no query),
          // else the last epoch: NOTIFY payloads stop at 8,000 bytes and ids can be longer.
          const single = changes.length === 1 ? JSON.stringify({ ...changes[0], epoch }) : undefined;
          const payload =
            single !== undefined && Buffer.byteLength(single) <= 4000
              ? single
              : JSON.stringify({ epoch, count: changes.length });
          await tx`SELECT pg_notify(${this.#channel}, ${payload})`;
        }
        if (context && key !== undefined)
          await tx`
            INSERT INTO ${this.#t('idempotency_keys')} (actor, key, action, result, created_at)
            VALUES (${context.actor}, ${key}, ${action}, ${this.#encodeResult(result, `idempotency:${context.actor}:${key}`)}, ${now})
            ON CONFLICT (actor, key) DO UPDATE SET action = excluded.action, result = excluded.result,
              created_at = excluded.created_at`;
        return result;
      })) as T;
    } catch (error) {
      throw translate(error);
    }
  }

  /** A result as JSON that keeps dates and bytes; sealed when a key is configured (it may hold a PSK key). */
  #encodeResult(result: unknown, aad: string): string {
    const json = JSON.stringify(result ?? null, function (this: Record<string, unknown>, name, value) {
      const raw = this[name];
      // Tags start with NUL, which no stored name may contain, so attributes cannot pose as them.
      if (raw instanceof Date) return { '\0date': raw.toISOString() };
      if (raw instanceof Uint8Array) return { '\0bytes': Buffer.from(raw).toString('base64') };
      return value;
    });
    return this.#box ? this.#box.seal(Buffer.from(json, 'utf8'), aad) : `json:${json}`;
  }

  #decodeResult(stored: string, aad: string): unknown {
    const json = stored.startsWith('json:')
      ? stored.slice(5)
      : Buffer.from(this.#requireBox('idempotent results').open(stored, aad)).toString('utf8');
    return JSON.parse(json, (_, value) => {
      if (value && typeof value === 'object' && '\0date' in value) return new Date(value['\0date']);
      if (value && typeof value === 'object' && '\0bytes' in value)
        return new Uint8Array(Buffer.from(value['\0bytes'], 'base64'));
      return value ?? undefined;
    });
  }

  // Change feed internals

  async #startListening(): Promise<void> {
    let first = true;
    this.#listen = await this.#sql.listen(
      this.#channel,
      (payload) => this.#onNotify(payload),
      () => {
        // Called on the first LISTEN and after every reconnect: what happened in between was not heard.
        if (!first) this.#resync();
        first = false;
        this.#catchUp();
      },
    );
  }

  #onNotify(payload: string): void {
    let change: { epoch?: unknown; kind?: unknown };
    try {
      change = JSON.parse(payload);
    } catch {
      change = {};
    }
    if (!this.#catchingUp && typeof change.kind === 'string' && change.epoch === this.#lastEpoch + 1)
      this.#deliver(change as RegistryChange);
    else this.#catchUp();
  }

  /** Delivers every logged change after the last delivered one; one run at a time. */
  #catchUp(): void {
    if (this.#catchingUp) {
      this.#catchUpAgain = true;
      return;
    }
    this.#catchingUp = (async () => {
      do {
        this.#catchUpAgain = false;
        for (;;) {
          const batch = await this.changesSince(this.#lastEpoch, 1000);
          for (const change of batch) this.#deliver(change);
          if (batch.length < 1000) break;
        }
      } while (this.#catchUpAgain);
    })()
      .catch((error) => this.#feedFailed(error))
      .finally(() => {
        this.#catchingUp = undefined;
      });
  }

  /** The periodic safety net: a lost notification or a dead listener shows as an epoch ahead of ours. */
  async #checkEpoch(): Promise<void> {
    if (this.#closed) return;
    try {
      const epoch = await this.currentEpoch();
      if (this.#feedBroken) {
        this.#feedBroken = false;
        this.#resync();
        await this.#listen?.unlisten().catch(() => {});
        await this.#startListening();
      }
      if (epoch > this.#lastEpoch) this.#catchUp();
    } catch (error) {
      this.#feedFailed(error);
    }
  }

  #feedFailed(error: unknown): void {
    if (this.#closed) return;
    this.#feedBroken = true;
    this.#options.onFeedError?.(error);
  }

  #resync(): void {
    this.#emitToListeners({ kind: 'resync', epoch: this.#lastEpoch });
  }

  #deliver(change: RegistryChange): void {
    if (change.epoch <= this.#lastEpoch) return;
    this.#lastEpoch = change.epoch;
    this.#emitToListeners(change);
  }

  #emitToListeners(change: RegistryChange): void {
    for (const listener of this.#listeners) {
      try {
        listener(structuredClone(change));
      } catch {
        // A failing listener must not stop the feed for the others.
      }
    }
  }
}

/** Error → RegistryError (unique violations), UnavailableError (database down), or itself. */
function translate(error: unknown): unknown {
  if (error instanceof WardenError) return error;
  const pg = error as { code?: string; constraint_name?: string; detail?: string };
  if (pg.code === '23505') {
    const what: Record<string, string> = {
      devices_pkey: 'a device with this id exists',
      devices_username_key: 'the username is taken by another device',
      credentials_pkey: 'a credential with this id exists',
      credentials_psk_identity_key: 'the PSK identity is taken',
      credentials_fingerprint_key: 'the certificate fingerprint is bound to another credential',
      credentials_issuer_serial_key: 'the certificate issuer and serial are bound to another credential',
      admin_tokens_pkey: 'an admin token with this id exists',
    };
    return new RegistryError(
      'ERR_REGISTRY_EXISTS',
      what[pg.constraint_name ?? ''] ?? `a unique value is taken (${pg.constraint_name})`,
    );
  }
  // Malformed text, NUL bytes, out-of-range dates, values too large for an index.
  if (['22P02', '22007', '22008', '22001', '22021', '22P05', '54000'].includes(pg.code ?? ''))
    return new InvalidInputError('a value does not fit the registry (malformed or too long)');
  return unavailable(error) ?? error;
}

/** A PostgreSQL array literal of strings (quoted and escaped), read back with `::text[]`. */
function arrayLiteral(items: readonly string[]): string {
  return `{${items.map((item) => `"${item.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`;
}

function deviceRow(d: Device) {
  return {
    id: d.id,
    username: d.username,
    client_ids: [...d.clientIds],
    roles: [...d.roles],
    groups: [...d.groups],
    attributes: d.attributes as postgres.JSONValue,
    enabled: d.enabled,
    not_before: d.notBefore ?? null,
    expires_at: d.expiresAt ?? null,
    created_at: d.createdAt,
    updated_at: d.updatedAt,
    version: d.version,
  };
}

function toDevice(row: Row): Device {
  return {
    id: row.id as string,
    username: row.username as string,
    clientIds: row.client_ids as string[],
    roles: row.roles as string[],
    groups: row.groups as string[],
    attributes: row.attributes as Device['attributes'],
    enabled: row.enabled as boolean,
    ...optionalDate('notBefore', row.not_before),
    ...optionalDate('expiresAt', row.expires_at),
    createdAt: row.created_at as Date,
    updatedAt: row.updated_at as Date,
    version: row.version as number,
  };
}

function toPolicy(row: Row): PolicyVersion {
  return {
    version: row.version as number,
    text: row.text as string,
    format: row.format as 'yaml' | 'json',
    createdAt: row.created_at as Date,
    createdBy: row.created_by as string,
    ...optionalText('comment', row.comment),
    active: row.active as boolean,
  };
}

function toToken(row: Row): AdminToken {
  return {
    id: row.id as string,
    secretHash: new Uint8Array(row.secret_hash as Buffer),
    scopes: row.scopes as AdminToken['scopes'],
    ...optionalText('description', row.description),
    createdAt: row.created_at as Date,
    createdBy: row.created_by as string,
    ...optionalDate('revokedAt', row.revoked_at),
  };
}

/** `{ [name]: value }` for a non-null column, `{}` for NULL (optional fields are absent, not undefined). */
function optionalDate<K extends string>(name: K, value: unknown): { [P in K]?: Date } {
  return value === null || value === undefined ? {} : ({ [name]: value as Date } as { [P in K]?: Date });
}

function optionalText<K extends string>(name: K, value: unknown): { [P in K]?: string } {
  return value === null || value === undefined ? {} : ({ [name]: value as string } as { [P in K]?: string });
}

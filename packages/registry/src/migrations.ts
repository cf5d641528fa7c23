import type postgres from 'postgres';

/** A quoted `schema.table` identifier. */
export type TableName = (name: string) => postgres.Helper<string, []>;

/**
 * One schema change. Versions only grow; a released migration is never edited (add a new one).
 * `up` gets a helper naming a table of the registry schema as a quoted identifier.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly up: (sql: postgres.TransactionSql, table: TableName) => postgres.PendingQuery<postgres.Row[]>;
}

/** The registry's schema history, applied in order by `migrateRegistry`. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'devices, credentials, signing keys, policy versions, sessions, admin tokens, audit, idempotency, change log',
    up: (sql, t) => sql`
      CREATE TABLE ${t('devices')} (
        id text COLLATE "C" PRIMARY KEY,
        username text NOT NULL CONSTRAINT devices_username_key UNIQUE,
        client_ids text[] NOT NULL,
        roles text[] NOT NULL,
        groups text[] NOT NULL,
        attributes jsonb NOT NULL,
        enabled boolean NOT NULL,
        not_before timestamptz,
        expires_at timestamptz,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        version integer NOT NULL
      );
      CREATE INDEX devices_roles ON ${t('devices')} USING gin (roles);
      CREATE INDEX devices_groups ON ${t('devices')} USING gin (groups);

      CREATE TABLE ${t('credentials')} (
        id text PRIMARY KEY,
        -- No foreign key: every write holds the store's write lock and checks the device itself, and a
        -- per-row key check (and row lock on the device) halves the bulk import rate.
        device_id text COLLATE "C" NOT NULL,
        kind text NOT NULL CHECK (kind IN ('password', 'psk', 'sas', 'x509')),
        password_hash text,
        psk_identity text,
        -- PSK and SAS keys, sealed by SecretBox (v1:<keyId>:<iv>:<ciphertext+tag>), never plaintext.
        sealed_key text,
        fingerprint text,
        issuer text,
        serial text,
        created_at timestamptz NOT NULL,
        expires_at timestamptz,
        last_used_at timestamptz,
        revoked_at timestamptz,
        CHECK ((kind = 'password') = (password_hash IS NOT NULL)),
        CHECK ((kind = 'psk') = (psk_identity IS NOT NULL)),
        CHECK ((kind IN ('psk', 'sas')) = (sealed_key IS NOT NULL))
      );
      CREATE INDEX credentials_device ON ${t('credentials')} (device_id);
      CREATE UNIQUE INDEX credentials_psk_identity_key ON ${t('credentials')} (psk_identity) WHERE kind = 'psk';
      CREATE UNIQUE INDEX credentials_fingerprint_key ON ${t('credentials')} (fingerprint) WHERE fingerprint IS NOT NULL;
      CREATE UNIQUE INDEX credentials_issuer_serial_key ON ${t('credentials')} (issuer, serial) WHERE issuer IS NOT NULL;

      CREATE TABLE ${t('signing_keys')} (
        kid text PRIMARY KEY,
        alg text NOT NULL,
        sealed_private_jwk text NOT NULL,
        public_jwk jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        retires_at timestamptz
      );

      CREATE TABLE ${t('policy_versions')} (
        version integer PRIMARY KEY,
        text text NOT NULL,
        format text NOT NULL CHECK (format IN ('yaml', 'json')),
        created_at timestamptz NOT NULL,
        created_by text NOT NULL,
        comment text,
        active boolean NOT NULL DEFAULT false
      );
      -- At most one active version, whatever the writers do.
      CREATE UNIQUE INDEX policy_versions_one_active ON ${t('policy_versions')} ((true)) WHERE active;

      CREATE TABLE ${t('sessions')} (
        username text NOT NULL,
        client_id text NOT NULL,
        principal jsonb NOT NULL,
        authenticator text NOT NULL,
        device_id text,
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (username, client_id)
      );
      CREATE INDEX sessions_device ON ${t('sessions')} (device_id) WHERE device_id IS NOT NULL;
      CREATE INDEX sessions_expires ON ${t('sessions')} (expires_at);

      CREATE TABLE ${t('admin_tokens')} (
        id text PRIMARY KEY,
        secret_hash bytea NOT NULL,
        scopes text[] NOT NULL,
        description text,
        created_at timestamptz NOT NULL,
        created_by text NOT NULL,
        revoked_at timestamptz
      );

      CREATE TABLE ${t('audit_records')} (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL,
        actor text NOT NULL,
        action text NOT NULL,
        target text NOT NULL,
        before jsonb,
        after jsonb
      );

      CREATE TABLE ${t('idempotency_keys')} (
        actor text NOT NULL,
        key text NOT NULL,
        action text NOT NULL,
        result text NOT NULL,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (actor, key)
      );
      CREATE INDEX idempotency_keys_created ON ${t('idempotency_keys')} (created_at);

      CREATE TABLE ${t('change_log')} (
        epoch bigserial PRIMARY KEY,
        change jsonb NOT NULL,
        at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX change_log_at ON ${t('change_log')} (at);
    `,
  },
];

/** The newest schema version this code reads and writes. */
export const LATEST_MIGRATION = MIGRATIONS.at(-1)!.version;

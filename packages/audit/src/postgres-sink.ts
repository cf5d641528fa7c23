import { ConfigError } from '@mqtt-warden/core';
import postgres from 'postgres';
import type { AuditSink, QueuedRecord } from './audit-sink.js';

export interface PostgresSinkOptions {
  /** `postgres://user:password@host:5432/db`. */
  readonly url: string;
  /** Schema of the `audit_events` table, created when missing (default `public`). */
  readonly schema?: string;
  /** Rows per INSERT (default 200). */
  readonly batchSize?: number;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Inserts records in batches into `SCHEMA.audit_events` (created with its schema when missing): the
 * searchable fields as columns, the whole record as `jsonb`.
 *
 * @example
 * ```ts
 * const sink = new PostgresSink({ url: process.env.DATABASE_URL!, schema: 'warden' });
 * ```
 */
export class PostgresSink implements AuditSink {
  readonly name = 'postgres';
  readonly batchSize: number;
  readonly schema: string;
  readonly #sql: postgres.Sql;
  #ready: Promise<void> | undefined;

  constructor(options: PostgresSinkOptions) {
    this.schema = options.schema ?? 'public';
    if (!IDENTIFIER.test(this.schema)) {
      throw new ConfigError(`audit postgres schema "${this.schema}": use lower-case letters, digits and _`);
    }
    this.batchSize = options.batchSize ?? 200;
    this.#sql = postgres(options.url, { max: 1, onnotice: () => {}, connect_timeout: 10, idle_timeout: 60 });
  }

  async send(batch: readonly QueuedRecord[]): Promise<void> {
    this.#ready ??= this.#createTable().catch((error) => {
      this.#ready = undefined;
      throw error;
    });
    await this.#ready;
    const sql = this.#sql;
    const rows = batch.map(({ record }) => ({
      time: record.time,
      kind: record.kind,
      adapter: record.adapter ?? null,
      decision: record.decision ?? null,
      reason: record.reason ?? null,
      rule: record.rule ?? null,
      principal: record.principal ?? null,
      username: record.username ?? null,
      client_id: record.clientId ?? null,
      address: record.address ?? null,
      action: record.action ?? null,
      topic: record.topic ?? null,
      record: sql.json(record as unknown as postgres.JSONValue),
    }));
    await sql`insert into ${sql(this.schema)}.audit_events ${sql(rows)}`;
  }

  async close(): Promise<void> {
    await this.#sql.end({ timeout: 2 });
  }

  async #createTable(): Promise<void> {
    const sql = this.#sql;
    const table = sql`${sql(this.schema)}.audit_events`;
    await sql`create schema if not exists ${sql(this.schema)}`;
    await sql`create table if not exists ${table} (
      id bigserial primary key,
      time timestamptz not null,
      kind text not null,
      adapter text,
      decision text,
      reason text,
      rule text,
      principal text,
      username text,
      client_id text,
      address text,
      action text,
      topic text,
      record jsonb not null
    )`;
    await sql`create index if not exists audit_events_time on ${table} (time)`;
  }
}

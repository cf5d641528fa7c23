import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { createAuditTrail, PostgresSink } from '../src/index.js';
import { login, refusal, until } from './records.js';

// The machine's PostgreSQL (trust auth), in a schema of this test file's own.
const URL = 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `audit_test_${process.pid}_${Date.now().toString(36)}`;
const sql = postgres(URL, { max: 1, onnotice: () => {} });

afterAll(async () => {
  await sql`drop schema if exists ${sql(SCHEMA)} cascade`;
  await sql.end();
});

describe('postgres sink', () => {
  it('creates its schema and table, and inserts records in batches', async () => {
    const trail = createAuditTrail({
      sinks: [new PostgresSink({ url: URL, schema: SCHEMA, batchSize: 25 })],
      alerts: false,
    });
    for (let n = 0; n < 60; n++) trail.record(refusal(n, 'dev1', '192.0.2.10'));
    trail.record(login(false, 'mallory', '198.51.100.7', Date.now()));
    const count = async () =>
      Number(
        (await sql`select count(*)::int as n from ${sql(SCHEMA)}.audit_events`.catch(() => [{ n: 0 }]))[0]!.n,
      );
    await until(async () => (await count()) === 61);
    await trail.close();
    const [row] = await sql`
      select kind, decision, reason, principal, client_id, address, action, topic, record
      from ${sql(SCHEMA)}.audit_events where topic = 'devices/other/59'`;
    expect(row).toMatchObject({
      kind: 'authorize',
      decision: 'deny',
      reason: 'default',
      principal: 'dev1',
      client_id: 'dev1',
      address: '192.0.2.10',
      action: 'publish',
    });
    expect(row!.record).toMatchObject({ kind: 'authorize', topic: 'devices/other/59' });
    const [refused] =
      await sql`select username, address from ${sql(SCHEMA)}.audit_events where kind = 'authenticate'`;
    expect(refused).toEqual({ username: 'mallory', address: '198.51.100.7' });
  });

  it('keeps records queued while the database is unreachable, then counts what it dropped', async () => {
    const errors: string[] = [];
    const trail = createAuditTrail({
      // Nothing listens on port 1.
      sinks: [new PostgresSink({ url: 'postgres://postgres@127.0.0.1:1/test', schema: SCHEMA })],
      alerts: false,
      queueBytes: 65_536,
      retryMs: 20,
      onSinkError: (_sink, error) => errors.push((error as { code?: string }).code ?? 'none'),
    });
    for (let n = 0; n < 2_000; n++) trail.record(refusal(n));
    await until(() => errors.length > 0);
    expect(errors[0]).toBe('ECONNREFUSED');
    expect(trail.queues[0]!.dropped).toBeGreaterThan(0);
    expect(trail.queues[0]!.bytes).toBeLessThanOrEqual(65_536);
    await trail.close(50);
  });

  it('refuses a schema name that is not a plain identifier', () => {
    expect(() => new PostgresSink({ url: URL, schema: 'x"; drop table y; --' })).toThrow(/schema/);
  });
});

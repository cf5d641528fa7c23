import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll } from 'vitest';
import { createPostgresRegistry, migrateRegistry } from '../src/index.js';
import { registryContract } from './registry-contract.js';

const URL = process.env.WARDEN_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `reg_contract_${randomBytes(4).toString('hex')}`;
const admin = postgres(URL, { max: 1, onnotice: () => {} });
const TABLES = [
  'devices',
  'credentials',
  'signing_keys',
  'policy_versions',
  'sessions',
  'admin_tokens',
  'audit_records',
  'idempotency_keys',
  'change_log',
];

beforeAll(async () => {
  await migrateRegistry({ url: URL, schema });
});

afterAll(async () => {
  await admin`DROP SCHEMA IF EXISTS ${admin(schema)} CASCADE`;
  await admin.end();
});

registryContract('PostgreSQL', async ({ now }) => {
  await admin`TRUNCATE ${admin(TABLES.map((t) => `${schema}.${t}`))} RESTART IDENTITY CASCADE`;
  return createPostgresRegistry({ url: URL, schema, now, encryptionKeys: [randomBytes(32)], poolSize: 4 });
});

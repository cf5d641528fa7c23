/** Mutual TLS on a real HTTPS listener: a verified certificate's subject maps to scopes; nothing else does. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryRegistry } from '@mqtt-warden/registry';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminServer, createAdminToken } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'admin-mtls-'));
const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function ca(name: string) {
  openssl([
    'req',
    '-x509',
    ...EC,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    join(dir, `${name}.key`),
    '-out',
    join(dir, `${name}.pem`),
  ]);
}

function leaf(name: string, subject: string, issuer: string, ext: string) {
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl([
    'req',
    ...EC,
    '-subj',
    subject,
    '-keyout',
    join(dir, `${name}.key`),
    '-out',
    join(dir, `${name}.csr`),
  ]);
  openssl([
    'x509',
    '-req',
    '-in',
    join(dir, `${name}.csr`),
    '-CA',
    join(dir, `${issuer}.pem`),
    '-CAkey',
    join(dir, `${issuer}.key`),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    join(dir, `${name}.ext`),
    '-out',
    join(dir, `${name}.pem`),
  ]);
}

const read = (name: string) => readFileSync(join(dir, name));
let app: FastifyInstance;
let port: number;
const store = new MemoryRegistry();

beforeAll(async () => {
  ca('admin-ca');
  ca('rogue-ca');
  leaf('server', '/CN=localhost', 'admin-ca', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  const client = 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n';
  leaf('ops', '/O=Example/CN=ops-admin', 'admin-ca', client);
  leaf('other', '/O=Example/CN=someone', 'admin-ca', client);
  leaf('rogue', '/O=Example/CN=ops-admin', 'rogue-ca', client); // same subject, wrong issuer
  app = await createAdminServer({
    store,
    tls: { cert: read('server.pem'), key: read('server.key'), ca: read('admin-ca.pem') },
    mtlsSubjects: { 'O = Example, CN = ops-admin': ['read', 'write'] },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as { port: number }).port;
  await store.createDevice({ id: 'd1' }, { actor: 'test' });
});

afterAll(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

function call(
  method: string,
  path: string,
  client?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: { error?: { code: string } } }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: `/admin/v1${path}`,
        ca: read('admin-ca.pem'),
        headers: { 'content-type': 'application/json', ...headers },
        ...(client ? { cert: read(`${client}.pem`), key: read(`${client}.key`) } : {}),
      },
      (res) => {
        let text = '';
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(method === 'GET' ? undefined : '{}');
  });
}

describe('mutual TLS', () => {
  it('grants a mapped subject its scopes and records the subject as actor', async () => {
    expect((await call('GET', '/devices/d1', 'ops')).status).toBe(200);
    expect((await call('POST', '/devices/d1:disable', 'ops')).status).toBe(200);
    expect((await store.listAuditRecords()).at(-1)?.actor).toBe('cert:O=Example, CN=ops-admin');
    const policy = await call('POST', '/policies:rollback', 'ops');
    expect(policy.status).toBe(403);
    expect(policy.body.error?.code).toBe('ERR_ADMIN_FORBIDDEN');
  });

  it('refuses an unmapped subject (403), a certificate from another CA and no certificate (401)', async () => {
    expect((await call('GET', '/devices/d1', 'other')).status).toBe(403);
    expect((await call('GET', '/devices/d1', 'rogue')).status).toBe(401);
    expect((await call('GET', '/devices/d1')).status).toBe(401);
  });

  it('still takes admin tokens on the TLS listener', async () => {
    const { token, record } = await createAdminToken(store, { scopes: ['write'] }, { actor: 'test' });
    const response = await call('POST', '/devices/d1:disable', undefined, {
      authorization: `Bearer ${token}`,
    });
    expect(response.status).toBe(200);
    expect((await store.listAuditRecords()).at(-1)?.actor).toBe(`token:${record.id}`);
  });
});

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryRegistry } from '@mqtt-warden/registry';
import { describe, expect, it } from 'vitest';
import { adminListener } from '../src/admin-listener.js';
import { parseServerConfig } from '../src/server-config.js';
import { makePki } from './pki.js';

const BASE = `policy: { file: policy.yaml }
authenticators:
  - type: password
    file: users.yaml
`;

describe('admin: config block', () => {
  it('resolves the TLS files against the config directory and defaults the address', () => {
    const config = parseServerConfig(
      `${BASE}admin:\n  listen:\n    tls: { cert: a.pem, key: a.key, ca: ca.pem }\n  mtlsSubjects:\n    "CN=ops, O=Example": [read, policy]\n`,
      { file: '/etc/warden/warden.yaml' },
    );
    expect(config.admin).toMatchObject({
      listen: {
        host: '127.0.0.1',
        port: 9443,
        tls: { cert: '/etc/warden/a.pem', key: '/etc/warden/a.key', ca: '/etc/warden/ca.pem' },
      },
      mtlsSubjects: { 'CN=ops, O=Example': ['read', 'policy'] },
      limits: { bodyBytes: 2 * 1024 * 1024, importBytes: 256 * 1024 * 1024 },
    });
  });

  it('refuses mtlsSubjects without a CA, and an unknown scope, with the line', () => {
    expect(() =>
      parseServerConfig(`${BASE}admin:\n  listen: { port: 9443 }\n  mtlsSubjects:\n    "CN=ops": [read]\n`, {
        file: 'w.yaml',
      }),
    ).toThrow(/mtlsSubjects needs listen\.tls with a ca/);
    expect(() =>
      parseServerConfig(
        `${BASE}admin:\n  listen: { tls: { cert: a, key: b, ca: c } }\n  mtlsSubjects:\n    "CN=ops": [root]\n`,
        { file: 'w.yaml' },
      ),
    ).toThrow(/w\.yaml:8:16: .*must be one of: "read", "write", "policy"/);
  });
});

describe('adminListener', () => {
  it('serves HTTPS with the configured files and maps a client certificate to its scopes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'admin-listener-'));
    makePki(dir);
    const store = new MemoryRegistry();
    await store.createDevice({ id: 'd1' }, { actor: 'test' });
    const admin = await adminListener(
      {
        listen: {
          host: '127.0.0.1',
          port: 0,
          tls: { cert: join(dir, 'dev-x.pem'), key: join(dir, 'dev-x.key'), ca: join(dir, 'ca.pem') },
        },
        mtlsSubjects: { 'CN=dev-x': ['read'] },
        limits: { bodyBytes: 65_536, importBytes: 1_000_000 },
      },
      store,
      'silent',
    );
    const url = await admin.listen();
    const get = (client: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${url}/admin/v1/devices/d1`, {
          // The test CA's leaf serves here; the caller checks the admin API, not the server's name.
          rejectUnauthorized: false,
          cert: readFileSync(join(dir, `${client}.pem`)),
          key: readFileSync(join(dir, `${client}.key`)),
        });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        req.end();
      });
    try {
      expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(await get('dev-x')).toBe(200);
      expect(await get('stranger')).toBe(401);
    } finally {
      await admin.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { describe, expect, it } from 'vitest';
import { parseServerConfig } from '../src/server-config.js';

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

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWardenServer, parseServerConfig, type WardenServer } from '../src/index.js';

const QUICKSTART = fileURLToPath(new URL('../../../examples/quickstart/', import.meta.url));
const BASE = `listen: { host: 127.0.0.1, port: 0 }
policy: { file: policy.yaml, watch: false }
authenticators: [{ type: password, file: users.yaml }]
`;

describe('audit config', () => {
  it('resolves sink paths and secrets against the config directory, and keeps unspecified defaults', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-audit-config-'));
    writeFileSync(join(dir, 'pg.url'), 'postgres://audit:s3cret@127.0.0.1/test\n');
    process.env.WARDEN_TEST_SIEM_TOKEN = 'Bearer siem-s3cret';
    const config = parseServerConfig(
      `${BASE}audit:
  sinks:
    - file: { path: logs/audit.jsonl, keep: 3 }
    - syslog: { host: siem.example, protocol: tls, ca: siem-ca.pem }
    - webhook: { url: "https://siem.example/in", headers: { authorization: { env: WARDEN_TEST_SIEM_TOKEN } } }
    - postgres: { url: { file: pg.url }, schema: warden }
  alerts: { failuresPerAddress: { max: 5 }, newNetwork: false }
`,
      { file: join(dir, 'warden.yaml') },
    );
    const [file, syslog, webhook, pg] = config.audit.sinks;
    expect(file!.file).toEqual({
      path: join(dir, 'logs/audit.jsonl'),
      maxBytes: 104_857_600,
      maxAgeHours: 24,
      keep: 3,
    });
    expect(syslog!.syslog).toMatchObject({
      ca: join(dir, 'siem-ca.pem'),
      facility: 'authpriv',
      protocol: 'tls',
    });
    expect(await webhook!.webhook!.headers!.authorization!.reveal()).toBe('Bearer siem-s3cret');
    expect(await pg!.postgres!.url.reveal()).toBe('postgres://audit:s3cret@127.0.0.1/test');
    // Secrets print redacted.
    expect(JSON.stringify(config.audit)).not.toMatch(/s3cret/);
    expect(config.audit.alerts).toMatchObject({
      failuresPerAddress: { max: 5, windowSeconds: 60 },
      newNetwork: false,
      reconnectStorm: { perSecond: 200 },
      lockout: true,
    });
    expect(config.audit.sampleAllows).toBe(0.01);
  });

  it.each([
    ['two sinks in one item', 'audit: { sinks: [ { stdout: {}, log: {} } ] }', /one sink per list item/],
    ['an unknown sink', 'audit: { sinks: [ { kafka: {} } ] }', /unknown key "kafka"/],
    ['an unknown rule', 'audit: { alerts: { bruteForce: false } }', /unknown key "bruteForce"/],
    ['a sample rate above 1', 'audit: { sampleAllows: 2 }', /sampleAllows/],
    [
      'a schema that is not an identifier',
      'audit: { sinks: [ { postgres: { url: x, schema: "a-b" } } ] }',
      /schema name/,
    ],
  ])('refuses %s with a located message', (_, block, message) => {
    expect(() => parseServerConfig(`${BASE}${block}\n`, { file: 'warden.yaml' })).toThrow(message);
    expect(() => parseServerConfig(`${BASE}${block}\n`, { file: 'warden.yaml' })).toThrow(
      /warden\.yaml:4:\d+/,
    );
  });
});

describe('a server without an audit block', () => {
  let server: WardenServer;
  let logs = '';
  beforeAll(async () => {
    const stream = new PassThrough();
    stream.on('data', (chunk) => (logs += chunk));
    const config = parseServerConfig(
      // The defenses would lock demo out after 5 failures; this block is about the audit of each failure.
      `${BASE}log: { level: info }\nmetrics: { bearerToken: metrics-token }\ndefenses: { enabled: false }\n`,
      {
        baseDir: QUICKSTART,
      },
    );
    server = await createWardenServer(config, { logStream: stream });
  });
  afterAll(() => server.close());

  it('logs refusals and alerts, and counts them on /metrics', async () => {
    for (let n = 0; n < 21; n++) {
      const reply = await server.app.inject({
        method: 'POST',
        url: '/emqx/authn',
        payload: {
          username: 'demo',
          password: `guess-${n}-password`,
          clientid: 'demo',
          peerhost: '198.51.100.7',
        },
      });
      expect(reply.json().result).toBe('deny');
    }
    await server.audit.flush();
    const lines = logs
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const refusals = lines.filter((l) => l.audit?.kind === 'authenticate');
    expect(refusals).toHaveLength(21);
    expect(refusals[0]).toMatchObject({
      level: 30,
      audit: { decision: 'deny', address: '198.51.100.7', adapter: 'emqx' },
    });
    const alerts = lines.filter((l) => l.audit?.kind === 'alert');
    expect(alerts).toEqual([
      expect.objectContaining({
        level: 40,
        audit: expect.objectContaining({
          alert: expect.objectContaining({ rule: 'failuresPerAddress', count: 21 }),
        }),
      }),
    ]);
    expect(logs).not.toMatch(/guess-\d+-password/);
    const metrics = await server.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: 'Bearer metrics-token' },
    });
    expect(metrics.body).toContain('mqtt_warden_audit_events_total{kind="authenticate",decision="deny"} 21');
    expect(metrics.body).toContain('mqtt_warden_alerts_total{rule="failuresPerAddress"} 1');
    expect(metrics.body).toContain('# TYPE mqtt_warden_audit_dropped_total counter');
  });
});

describe('a server whose defenses lock a user out', () => {
  it('records the lock being placed and each locked attempt, and raises one lockout alert', async () => {
    let logs = '';
    const stream = new PassThrough();
    stream.on('data', (chunk) => (logs += chunk));
    const config = parseServerConfig(`${BASE}log: { level: info }\n`, { baseDir: QUICKSTART });
    const server = await createWardenServer(config, { logStream: stream });
    try {
      for (let n = 0; n < 8; n++) {
        const reply = await server.app.inject({
          method: 'POST',
          url: '/emqx/authn',
          payload: {
            username: 'demo',
            password: `guess-${n}-password`,
            clientid: 'demo',
            peerhost: '198.51.100.9',
          },
        });
        expect(reply.json().result).toBe('deny');
      }
      await server.audit.flush();
      const records = logs
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).audit)
        .filter(Boolean);
      const kinds = records.map((r) => `${r.kind}:${r.reason ?? r.alert?.rule}`);
      // Five wrong passwords verified, the fifth places the lock, three attempts refused by it unverified.
      expect(kinds.filter((k) => k.startsWith('authenticate:'))).toHaveLength(5);
      expect(kinds.filter((k) => k === 'lockout:locked-out')).toHaveLength(1);
      expect(kinds.filter((k) => k === 'rate-limited:locked')).toHaveLength(3);
      expect(records.filter((r) => r.kind === 'alert' && r.alert.rule === 'lockout')).toHaveLength(1);
      expect(logs).not.toMatch(/guess-\d+-password/);
    } finally {
      await server.close();
    }
  });
});

describe('audit tail output for people', () => {
  it('escapes control characters a client put in its username or topic', async () => {
    const { describeRecord } = await import('../src/commands/audit.js');
    const line = describeRecord({
      time: '2026-12-01T00:00:00.000Z',
      kind: 'authorize',
      decision: 'deny',
      username: 'evil\n2026-12-01T00:00:01.000Z ALLOW authorize',
      action: 'publish',
      topic: 'a/\u001b[2Jb',
    });
    expect(line.includes('\n') || line.includes('\u001b')).toBe(false);
    expect(line).toContain('username=evil\\x0a2026');
    expect(line).toContain('publish a/\\x1b[2Jb');
  });
});

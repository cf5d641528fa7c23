import { createSocket } from 'node:dgram';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createGuard } from '@mqtt-warden/core';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuditTrail, SyslogSink, WebhookSink } from '../src/index.js';
import { refusal, until } from './records.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

async function collector(handle: (request: IncomingMessage, body: string, response: ServerResponse) => void) {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => handle(request, body, response));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/ingest`;
}

describe('webhook sink', () => {
  it('retries failed batches with back-off and delivers every record once, in order', async () => {
    let calls = 0;
    const received: string[] = [];
    const headers: (string | undefined)[] = [];
    const url = await collector((request, body, response) => {
      calls++;
      headers.push(request.headers.authorization);
      // The first three batches fail (two 503s, then a dropped connection).
      if (calls <= 2) return response.writeHead(503).end();
      if (calls === 3) return request.socket.destroy();
      for (const record of JSON.parse(body)) received.push(record.topic);
      response.writeHead(204).end();
    });
    const trail = createAuditTrail({
      sinks: [new WebhookSink({ url, batchSize: 10, headers: { authorization: 'Bearer siem-token' } })],
      alerts: false,
      retryMs: 20,
    });
    for (let n = 0; n < 35; n++) trail.record(refusal(n));
    await until(() => received.length === 35);
    await trail.close();
    expect(received).toEqual(Array.from({ length: 35 }, (_, n) => `devices/other/${n}`));
    // 3 failures + 4 batches of at most 10.
    expect(calls).toBe(7);
    expect(new Set(headers)).toEqual(new Set(['Bearer siem-token']));
  });

  it('drops (and counts) what does not fit while the collector stalls, without delaying decisions', async () => {
    const url = await collector(() => {
      // Never answers.
    });
    const registry = new Registry();
    const trail = createAuditTrail({
      sinks: [new WebhookSink({ url, batchSize: 50, timeoutMs: 60_000 })],
      queueBytes: 65_536,
      alerts: false,
      registry,
    });
    const guard = createGuard({
      authenticators: [],
      authorizer: { authorize: () => ({ allowed: false, reason: 'default' }) },
      cache: false,
      audit: trail.record,
    });
    const principal = { id: 'dev1', clientId: 'dev1', method: 'password', roles: [], attributes: {} };
    const started = performance.now();
    let allowed = 0;
    for (let n = 0; n < 20_000; n++) {
      if (guard.authorize(principal, { action: 'publish', topic: `devices/other/${n}` }).allowed) allowed++;
    }
    const elapsed = performance.now() - started;
    expect(allowed).toBe(0);
    const queue = trail.queues[0]!;
    expect(queue.bytes).toBeLessThanOrEqual(65_536);
    expect(queue.dropped).toBeGreaterThan(19_000);
    const metrics = await registry.metrics();
    expect(metrics).toContain(`mqtt_warden_audit_dropped_total{sink="webhook"} ${queue.dropped}`);
    expect(metrics).toContain('mqtt_warden_audit_events_total{kind="authorize",decision="deny"} 20000');
    // 20,000 refusals while the sink is stuck: well under a second on any machine (it is ~50 ms).
    expect(elapsed).toBeLessThan(5_000);
    await trail.close(50);
  });

  it('delivers alerts to the webhook and to syslog, like every record', async () => {
    const posted: { kind: string; alert?: { rule: string; taken?: string } }[] = [];
    const url = await collector((_request, body, response) => {
      posted.push(...JSON.parse(body));
      response.writeHead(200).end();
    });
    const udp = createSocket('udp4');
    const datagrams: string[] = [];
    udp.on('message', (message) => datagrams.push(message.toString('utf8')));
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    const trail = createAuditTrail({
      sinks: [new WebhookSink({ url }), new SyslogSink({ host: '127.0.0.1', port: udp.address().port })],
    });
    trail.record({
      type: 'lockout',
      username: 'dev1',
      remoteAddress: '198.51.100.7',
      until: Date.now() + 60_000,
    });
    await until(() => posted.length === 2 && datagrams.length === 2);
    await trail.close();
    udp.close();
    expect(posted.map((r) => r.kind)).toEqual(['lockout', 'alert']);
    expect(posted[1]!.alert).toMatchObject({ rule: 'lockout', taken: 'locked' });
    // An alert is a warning (4) in facility authpriv (10), MSGID "alert".
    expect(datagrams[1]).toMatch(/^<84>1 \S+ \S+ mqtt-warden \d+ alert - /);
  });
});

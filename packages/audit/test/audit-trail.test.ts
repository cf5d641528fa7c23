import type { AuditEvent } from '@mqtt-warden/core';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  type AuditSink,
  auditRecordOf,
  createAuditTrail,
  LogSink,
  MAX_FIELD_LENGTH,
  type QueuedRecord,
  type SinkQueue,
} from '../src/index.js';
import { login, refusal, until } from './records.js';

function memorySink(): AuditSink & { lines: string[] } {
  const lines: string[] = [];
  return {
    name: 'memory',
    lines,
    async send(batch: readonly QueuedRecord[]) {
      for (const item of batch) lines.push(item.line);
    },
    async close() {},
  };
}

const allow = (n: number): AuditEvent => ({ ...refusal(n), allowed: true, reason: 'rule' }) as AuditEvent;

describe('audit trail', () => {
  it('records every login and refusal, counts every authorization allow and records the sampled ones', async () => {
    const sink = memorySink();
    const registry = new Registry();
    let draw = 0;
    const trail = createAuditTrail({
      sinks: [sink],
      sampleAllows: 0.1,
      alerts: false,
      registry,
      // Every tenth draw is under 0.1.
      random: () => (draw++ % 10 === 0 ? 0.05 : 0.5),
    });
    for (let n = 0; n < 100; n++) trail.record(allow(n));
    trail.record(refusal(1));
    trail.record(login(true, 'dev1', '192.0.2.10', Date.now()));
    trail.record(login(false, 'dev1', '192.0.2.10', Date.now()));
    await trail.flush();
    const records = sink.lines.map((line) => JSON.parse(line));
    expect(records.filter((r) => r.decision === 'allow' && r.kind === 'authorize')).toHaveLength(10);
    expect(records.find((r) => r.kind === 'authorize' && r.decision === 'allow').sampleRate).toBe(0.1);
    expect(records.filter((r) => r.kind === 'authenticate')).toHaveLength(2);
    expect(records.filter((r) => r.decision === 'deny')).toHaveLength(2);
    const metrics = await registry.metrics();
    expect(metrics).toContain('mqtt_warden_audit_events_total{kind="authorize",decision="allow"} 100');
    expect(metrics).toContain('mqtt_warden_audit_events_total{kind="authenticate",decision="deny"} 1');
    await trail.close();
  });

  it('queues for the log sink only what it logs (no allows unless asked, nothing below its level); other sinks get everything', async () => {
    const LEVELS = ['debug', 'info', 'warn', 'error'];
    let level = 'info';
    const logged: string[] = [];
    const logger = {
      info: (o: { audit: { decision?: string } }) => logged.push(`info ${o.audit.decision}`),
      warn: () => logged.push('warn'),
      isLevelEnabled: (l: string) => LEVELS.indexOf(l) >= LEVELS.indexOf(level),
    };
    const memory = memorySink();
    const trail = createAuditTrail({ sinks: [new LogSink(logger), memory], alerts: false });
    const [logQueue, memoryQueue] = trail.queues as [SinkQueue, SinkQueue];
    trail.record(login(true, 'dev1', '192.0.2.10', Date.now()));
    expect(logQueue.bytes).toBe(0);
    expect(memoryQueue.bytes).toBeGreaterThan(0);
    trail.record(login(false, 'dev1', '192.0.2.10', Date.now()));
    expect(logQueue.bytes).toBeGreaterThan(0);
    await trail.flush();
    level = 'warn';
    trail.record(login(false, 'dev2', '192.0.2.10', Date.now()));
    expect(logQueue.bytes).toBe(0);
    await trail.flush();
    expect(logged).toEqual(['info deny']);
    expect(memory.lines).toHaveLength(3);

    level = 'info';
    const allows = createAuditTrail({ sinks: [new LogSink(logger, { allows: true })], alerts: false });
    allows.record(login(true, 'dev1', '192.0.2.10', Date.now()));
    await allows.flush();
    expect(logged).toEqual(['info deny', 'info allow']);
    await trail.close();
    await allows.close();
  });

  it('builds nothing for a sampled allow no sink takes, and still counts it', async () => {
    let level = 'info';
    const logger = {
      info: () => {},
      warn: () => {},
      isLevelEnabled: (l: string) => l !== 'info' || level === 'info',
    };
    const registry = new Registry();
    const quiet = createAuditTrail({
      sinks: [new LogSink(logger)],
      sampleAllows: 1,
      alerts: false,
      registry,
    });
    expect(quiet.guardHooks.auditAllow()).toBe(false);
    quiet.record(allow(1));
    expect(await registry.metrics()).toContain(
      'mqtt_warden_audit_events_total{kind="authorize",decision="allow"} 2',
    );
    const loud = new LogSink(logger, { allows: true });
    const trails = [
      createAuditTrail({ sinks: [loud], sampleAllows: 1, alerts: false }),
      createAuditTrail({ sinks: [new LogSink(logger), memorySink()], sampleAllows: 1, alerts: false }),
    ];
    for (const trail of trails) expect(trail.guardHooks.auditAllow()).toBe(true);
    level = 'warn';
    expect(trails[0]?.guardHooks.auditAllow()).toBe(false);
    for (const trail of [quiet, ...trails]) await trail.close();
  });

  it('builds records from an allowlist: fields an event should not carry never reach a sink', async () => {
    const sink = memorySink();
    const trail = createAuditTrail({ sinks: [sink], alerts: false });
    const leaky = {
      ...login(false, 'dev1', '192.0.2.10', Date.now()),
      password: 'hunter2-password',
      token: 'eyJ-secret-token',
      attributes: { warden_session: 'ticket-secret' },
    } as unknown as AuditEvent;
    trail.record(leaky);
    trail.record({ type: 'lockout', username: 'dev1', key: 'k3y-secret' } as never);
    await until(() => sink.lines.length === 2);
    const written = sink.lines.join('\n');
    for (const secret of ['hunter2-password', 'eyJ-secret-token', 'ticket-secret', 'k3y-secret']) {
      expect(written).not.toContain(secret);
    }
    expect(JSON.parse(sink.lines[0]!)).toEqual({
      time: expect.any(String),
      kind: 'authenticate',
      decision: 'deny',
      reason: 'bad-credentials',
      authenticator: 'password',
      username: 'dev1',
      clientId: 'dev1',
      address: '192.0.2.10',
      durationMs: 1,
    });
    await trail.close();
  });

  it('writes the deciding rule as file:line:column, and cuts very long values', () => {
    const record = auditRecordOf({
      ...refusal(1),
      topic: 'x'.repeat(70_000),
      rule: { id: 'role:device#1', effect: 'deny', source: { file: 'policy.yaml', line: 12, column: 9 } },
    } as AuditEvent);
    expect(record.rule).toBe('policy.yaml:12:9');
    expect(record.ruleId).toBe('role:device#1');
    expect(record.topic!.length).toBe(MAX_FIELD_LENGTH + 1);
  });
});

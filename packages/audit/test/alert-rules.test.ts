import type { AuditEvent } from '@mqtt-warden/core';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  type AlertDetail,
  type AlertRules,
  type AuditRecord,
  createAuditTrail,
  DEFAULT_ALERT_RULES,
  type DefenseEvent,
} from '../src/index.js';
import { login, refusal } from './records.js';

const T0 = Date.parse('2026-12-01T12:00:00.000Z');

/** Feeds events to a trail with the given rules; returns the alerts raised and the metrics text. */
async function alertsOf(events: (AuditEvent | DefenseEvent)[], rules: AlertRules = DEFAULT_ALERT_RULES) {
  const records: AuditRecord[] = [];
  const registry = new Registry();
  const trail = createAuditTrail({
    sinks: [
      {
        name: 'memory',
        async send(batch) {
          for (const item of batch) records.push(item.record);
        },
        async close() {},
      },
    ],
    alerts: rules,
    registry,
  });
  for (const event of events) trail.record(event);
  await trail.close();
  const alerts = records.filter((r) => r.kind === 'alert').map((r) => r.alert as AlertDetail);
  return { alerts, metrics: await registry.metrics() };
}

/** A normal fleet: 400 devices over an hour, each from its own address (a few move inside their /24 or /64),
 * reconnecting every 10 minutes, a broker restart that reconnects all of them within 5 s, a device that
 * mistypes its password twice, and the occasional refused publish. */
function normalFleet(): AuditEvent[] {
  const events: AuditEvent[] = [];
  const address = (d: number, round: number) =>
    d % 2 === 0
      ? `10.${(d >> 8) & 255}.${d & 255}.${round % 3 === 0 ? 10 : 11}`
      : `2001:db8:${d.toString(16)}:1::${round % 2 === 0 ? 'a' : 'b'}`;
  for (let round = 0; round < 6; round++) {
    for (let d = 0; d < 400; d++) {
      const time = T0 + round * 600_000 + (round === 3 ? d * 12 : d * 1_000);
      if (d === 7 && round === 2) {
        events.push(login(false, `dev${d}`, address(d, round), time - 2_000));
        events.push(login(false, `dev${d}`, address(d, round), time - 1_000));
      }
      events.push(login(true, `dev${d}`, address(d, round), time));
      if (d % 50 === 0) events.push(refusal(round, `dev${d}`, address(d, round), time + 10));
    }
  }
  return events.sort((a, b) => a.time - b.time);
}

describe('alert rules', () => {
  it('stay quiet on a normal fleet', async () => {
    const fleet = normalFleet();
    expect(fleet.length).toBeGreaterThan(2_400);
    const { alerts, metrics } = await alertsOf(fleet);
    expect(alerts).toEqual([]);
    expect(metrics).not.toMatch(/mqtt_warden_alerts_total\{/);
  });

  it('failuresPerAddress: more than 20 failed logins from one address in a minute, saying what the defenses did', async () => {
    const events: (AuditEvent | DefenseEvent)[] = [
      {
        type: 'rate-limited',
        time: T0,
        remoteAddress: '198.51.100.7',
        scope: 'address',
        until: T0 + 600_000,
      },
    ];
    for (let n = 0; n < 25; n++) events.push(login(false, 'dev1', '198.51.100.7', T0 + n * 2_000));
    const { alerts, metrics } = await alertsOf(events, { ...DEFAULT_ALERT_RULES, credentialStuffing: false });
    expect(alerts).toEqual([
      {
        rule: 'failuresPerAddress',
        source: '198.51.100.7',
        what: expect.stringContaining('more than 20 failed logins from 198.51.100.7'),
        since: new Date(T0).toISOString(),
        count: 21,
        taken: 'limited',
      },
    ]);
    expect(metrics).toContain('mqtt_warden_alerts_total{rule="failuresPerAddress"} 1');
  });

  it('failuresPerAddress: the same failures spread over more than the window raise nothing', async () => {
    const events = Array.from({ length: 40 }, (_, n) => login(false, 'dev1', '198.51.100.7', T0 + n * 4_000));
    expect((await alertsOf(events)).alerts).toEqual([]);
  });

  it('credentialStuffing: failures for more than 10 usernames from one address', async () => {
    const events = Array.from({ length: 12 }, (_, n) =>
      login(false, `user${n}`, '203.0.113.9', T0 + n * 20_000),
    );
    const { alerts } = await alertsOf(events);
    expect(alerts).toEqual([
      expect.objectContaining({
        rule: 'credentialStuffing',
        source: '203.0.113.9',
        count: 11,
        since: new Date(T0).toISOString(),
      }),
    ]);
  });

  it('refusedPerDevice: more than 30 refused publishes for one device in a minute', async () => {
    const events = Array.from({ length: 40 }, (_, n) => refusal(n, 'dev9', '10.0.0.9', T0 + n * 1_000));
    const { alerts } = await alertsOf(events);
    expect(alerts).toEqual([
      expect.objectContaining({
        rule: 'refusedPerDevice',
        source: 'dev9',
        count: 31,
        what: expect.stringContaining('last: publish devices/other/30'),
      }),
    ]);
  });

  it('refusedPerDevice: still raised when the defenses slow the device, saying so', async () => {
    // What the server records for a slowed client: the guard's own deny, then the defenses' "slowed".
    const events: (AuditEvent | DefenseEvent)[] = [];
    for (let n = 0; n < 40; n++) {
      events.push(refusal(n, 'dev9', '10.0.0.9', T0 + n * 1_000));
      events.push({
        type: 'rate-limited',
        time: T0 + n * 1_000 + 1,
        scope: 'principal',
        reason: 'slowed',
        principalId: 'dev9',
        remoteAddress: '10.0.0.9',
        // Slowed until its bucket is back above the slowdown threshold, if it stops asking.
        until: T0 + n * 1_000 + 5_000,
      });
    }
    const { alerts } = await alertsOf(events);
    expect(alerts).toEqual([
      expect.objectContaining({ rule: 'refusedPerDevice', source: 'dev9', count: 31, taken: 'slowed' }),
    ]);
  });

  it('newNetwork: a known device connecting from another /24 or /64', async () => {
    const events = [
      login(true, 'dev1', '192.0.2.10', T0),
      login(true, 'dev1', '192.0.2.77', T0 + 1_000),
      login(true, 'dev1', '203.0.113.5', T0 + 2_000),
      login(true, 'dev2', '2001:db8:1:2::1', T0),
      login(true, 'dev2', '2001:db8:1:2:ffff::9', T0 + 1_000),
      login(true, 'dev2', '2001:db8:1:3::1', T0 + 2_000),
    ];
    const { alerts } = await alertsOf(events);
    expect(alerts.map((a) => [a.rule, a.source])).toEqual([
      ['newNetwork', 'dev1'],
      ['newNetwork', 'dev2'],
    ]);
    expect(alerts[0]!.what).toContain('203.0.113.5');
    expect(alerts[0]!.what).toContain('192.0.2.0/24');
  });

  it('reconnectStorm: more than 200 connects in a second, once per minute', async () => {
    const events = Array.from({ length: 600 }, (_, n) =>
      login(true, `dev${n}`, `10.1.${n >> 8}.${n & 255}`, T0 + n * 3),
    );
    const { alerts } = await alertsOf(events);
    expect(alerts).toEqual([
      expect.objectContaining({ rule: 'reconnectStorm', source: 'fleet', count: 201 }),
    ]);
  });

  it('lockout: every lockout the defenses report, with what was done', async () => {
    const lockout: DefenseEvent = {
      type: 'lockout',
      time: T0,
      scope: 'username',
      username: 'dev1',
      remoteAddress: '198.51.100.7',
      until: T0 + 300_000,
      count: 10,
    };
    const { alerts } = await alertsOf([lockout]);
    expect(alerts).toEqual([
      {
        rule: 'lockout',
        source: '198.51.100.7',
        what: `lockout of username dev1 until ${new Date(T0 + 300_000).toISOString()}`,
        since: new Date(T0).toISOString(),
        count: 10,
        taken: 'locked',
      },
    ]);
    expect((await alertsOf([lockout], { ...DEFAULT_ALERT_RULES, lockout: false })).alerts).toEqual([]);
  });

  it('a rule turned off raises nothing', async () => {
    const events = Array.from({ length: 40 }, (_, n) => refusal(n, 'dev9', '10.0.0.9', T0 + n * 1_000));
    expect((await alertsOf(events, { ...DEFAULT_ALERT_RULES, refusedPerDevice: false })).alerts).toEqual([]);
  });

  it('tracks at most maxKeys sources: an address pushed out by 200 others starts counting again', async () => {
    const events: AuditEvent[] = [];
    for (let n = 0; n < 15; n++) events.push(login(false, 'dev1', '198.51.100.7', T0 + n));
    for (let n = 0; n < 200; n++) events.push(login(false, 'x', `10.9.0.${n}`, T0 + 100 + n));
    for (let n = 0; n < 15; n++) events.push(login(false, 'dev1', '198.51.100.7', T0 + 400 + n));
    const rules = {
      ...DEFAULT_ALERT_RULES,
      maxKeys: 100,
      reconnectStorm: false,
      credentialStuffing: false,
    } as const;
    expect((await alertsOf(events, rules)).alerts).toEqual([]);
    // With room for every address, the same events do alert.
    expect((await alertsOf(events, { ...rules, maxKeys: 1_000 })).alerts).toHaveLength(1);
  });
});

/**
 * Slowed, then refused, on a real Aedes broker over TCP with MQTT.js: a client that keeps subscribing to
 * a filter it was refused gets SUBACKs held longer and longer (up to maxDelayMs), then 0x80 for every
 * filter, allowed ones included; another client subscribing at the same time is not delayed.
 */
import { attachGuard } from '@mqtt-warden/aedes';
import { createGuard } from '@mqtt-warden/core';
import { createDefenses, type DefenseEvent, type Defenses } from '@mqtt-warden/defenses';
import { createMemoryStore, createPasswordAuthenticator, hashPassword } from '@mqtt-warden/password';
import { parsePolicy } from '@mqtt-warden/policy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Connected,
  connect,
  delay,
  end,
  startBroker,
  subscribeRaw,
  type TestBroker,
} from '../packages/aedes/test/helpers.js';

const CHEAP = { memoryCost: 256, timeCost: 1 };
const POLICY = `
version: 1
users: { flood: [device], calm: [device] }
roles:
  device:
    clientIds: \${principal}
    rules:
      - { effect: allow, actions: all, topics: "devices/\${clientid}/#" }
`;
const MAX_DELAY_MS = 1000;

describe('Aedes: a client asking again and again for what it was refused', () => {
  let server: TestBroker;
  let defenses: Defenses;
  const events: { event: DefenseEvent; request: number }[] = [];
  let request = -1;

  beforeAll(async () => {
    const passwords = createPasswordAuthenticator({
      store: createMemoryStore([
        { username: 'flood', hash: await hashPassword('flood-password', CHEAP) },
        { username: 'calm', hash: await hashPassword('calm-password', CHEAP) },
      ]),
    });
    const guard = createGuard({ authenticators: [passwords], authorizer: parsePolicy(POLICY) });
    defenses = await createDefenses(
      {
        lockout: { enabled: false },
        storm: { enabled: false },
        rateLimits: {
          requests: {
            // 100 tokens, refilled at 0.5/s: less than one token comes back during the longest hold, so
            // a client that waits out each hold still ends with an empty bucket.
            perPrincipal: { perSecond: 0.5, burst: 100 },
            // Both clients come from 127.0.0.1: the address must not be what slows them.
            perAddress: { perSecond: 10_000, burst: 100_000 },
            deniedCost: 10,
            slowdown: { below: 0.5, maxDelayMs: MAX_DELAY_MS, maxHeld: 4 },
          },
        },
      },
      { onEvent: (event) => events.push({ event, request }) },
    );
    server = await startBroker({});
    attachGuard(server.broker, guard, { defenses });
  });
  afterAll(async () => {
    await server?.close();
    await defenses?.close();
  });

  const login = (username: string) =>
    connect(`mqtt://127.0.0.1:${server.ports.tcp}`, {
      clientId: username,
      username,
      password: `${username}-password`,
    });

  /** One SUBSCRIBE: its SUBACK codes and how long the SUBACK took. */
  async function timed(client: Connected, filter: string): Promise<{ codes: number[]; ms: number }> {
    const start = performance.now();
    const codes = await subscribeRaw(client, { [filter]: { qos: 1 } });
    return { codes, ms: performance.now() - start };
  }

  it('holds its SUBACKs longer and longer, then refuses even allowed filters; another client is not delayed', async () => {
    const flood = await login('flood');
    const calm = await login('calm');
    expect([flood.returnCode, calm.returnCode]).toEqual([0, 0]);
    expect((await timed(flood, 'devices/flood/before')).codes).toEqual([1]);

    // The calm client subscribes to its own tree all along, concurrently with the flood.
    let flooding = true;
    const calmLatencies: number[] = [];
    const calmCodes: number[] = [];
    const calmLoop = (async () => {
      // At most 60 (each costs one of its 100 tokens).
      for (let n = 0; flooding && n < 60; n++) {
        const { codes, ms } = await timed(calm, `devices/calm/${n}`);
        calmCodes.push(...codes);
        calmLatencies.push(ms);
        await delay(50);
      }
    })();

    // The flooding client waits for each SUBACK before asking again, as a QoS-1 loop does.
    const denied: { codes: number[]; ms: number }[] = [];
    for (request = 0; request < 30; request++) {
      const answer = await timed(flood, `devices/other/${request}`);
      denied.push(answer);
      if (events.some((e) => e.event.refused && e.event.kind === 'rate-limited')) break;
    }
    flooding = false;
    await calmLoop;

    expect(denied.every((d) => d.codes[0] === 0x80)).toBe(true);
    const slowed = events.filter((e) => e.event.kind === 'rate-limited' && !e.event.refused);
    const holds = slowed.map((e) => e.event.holdMs!);
    // Slowed: several held replies, each longer than the one before, the last near maxDelayMs (the
    // bucket refills a little on the real clock meanwhile).
    expect(holds.length).toBeGreaterThanOrEqual(4);
    for (let i = 1; i < holds.length; i++) expect(holds[i]).toBeGreaterThan(holds[i - 1]!);
    expect(holds.at(-1)).toBeGreaterThan(MAX_DELAY_MS * 0.9);
    expect(holds.at(-1)).toBeLessThanOrEqual(MAX_DELAY_MS);
    // The client saw each hold: its SUBACK came no sooner.
    for (const { event, request: n } of slowed) {
      expect(denied[n]!.ms).toBeGreaterThanOrEqual(event.holdMs! - 1);
    }
    // Before the slowdown, refusals were answered without a hold.
    const firstHeld = slowed[0]!.request;
    expect(firstHeld).toBeGreaterThanOrEqual(3);
    const unheld = denied.slice(0, firstHeld).map((d) => d.ms);
    expect(Math.max(...unheld)).toBeLessThan(holds.at(-1)!);

    // Then refused: the bucket is empty, so an allowed filter gets 0x80 too, without a hold.
    const heldBefore = defenses.stats().held;
    const refused = await timed(flood, 'devices/flood/after');
    expect(refused.codes).toEqual([0x80]);
    expect(defenses.stats().held).toBe(heldBefore);

    // The calm client, meanwhile: every subscription granted, none held, though the flood's held
    // SUBACKs add up to seconds.
    const heldTotal = holds.reduce((a, b) => a + b, 0);
    expect(heldTotal).toBeGreaterThan(2000);
    expect(calmLatencies.length).toBeGreaterThanOrEqual(10);
    expect(calmCodes.every((code) => code === 1)).toBe(true);
    expect(Math.max(...calmLatencies)).toBeLessThan(MAX_DELAY_MS / 2);
    expect(events.filter((e) => e.event.subject === 'calm')).toEqual([]);

    await end(flood);
    await end(calm);
  });
});

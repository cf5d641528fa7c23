import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DefenseEvent } from '@mqtt-warden/defenses';
import { hashPassword } from '@mqtt-warden/password';
import { createWardenServer, parseServerConfig, type WardenServer } from '@mqtt-warden/server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defenseAuditEvent } from '../src/defense-audit-event.js';

// Slowed, then refused, through the real server over loopback HTTP (EMQX's /emqx/authz): a client that
// keeps asking for a topic it was refused gets its deny replies held longer and longer, then denies for
// everything; a legitimate client is not delayed; however many clients flood at once, at most maxHeld
// replies are held (each ties one of the broker's pooled connections), the others answered at once.

const CHEAP = { memoryCost: 256, timeCost: 1 };
const USERS = ['legit', ...Array.from({ length: 7 }, (_, n) => `dev${n}`)];
const POLICY = `version: 1
users: { ${USERS.map((u) => `${u}: [device]`).join(', ')} }
roles:
  device:
    clientIds: \${principal}
    rules:
      - { effect: allow, actions: all, topics: "devices/\${clientid}/#" }
`;

let dir = '';
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warden-slowdown-'));
  const entries = await Promise.all(
    USERS.map(async (u) => `  ${u}:\n    hash: ${await hashPassword(`${u}-password`, CHEAP)}\n`),
  );
  writeFileSync(join(dir, 'users.yaml'), `users:\n${entries.join('')}`);
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Running {
  server: WardenServer;
  url: string;
  /** Each defense event, with when it was reported (ms, this process's clock). */
  events: { event: DefenseEvent; at: number }[];
}

let open: WardenServer | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

async function start(slowdown: string): Promise<Running> {
  const events: Running['events'] = [];
  const server = await createWardenServer(
    parseServerConfig(
      `listen: { host: 127.0.0.1, port: 0 }
log: { level: silent }
policy: { file: policy.yaml }
authenticators: [{ type: password, file: users.yaml }]
metrics: { bearerToken: t }
defenses:
  lockout: { enabled: false }
  storm: { enabled: false }
  rateLimits:
    requests:
      perPrincipal: { perSecond: 0.5, burst: 100 }
      perClientId: { perSecond: 10000, burst: 100000 }
      perAddress: { perSecond: 10000, burst: 100000 }
      deniedCost: 10
      slowdown: ${slowdown}
`,
      { baseDir: dir },
    ),
    { onDefenseEvent: (event) => events.push({ event, at: performance.now() }) },
  );
  open = server;
  const url = await server.listen();
  return { server, url, events };
}

async function post(url: string, path: string, body: Record<string, string>) {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { result: string } };
}

/** Logs `user` in through /emqx/authn (client id = username, its own address). */
async function login(r: Running, user: string, address: string) {
  const { body } = await post(r.url, '/emqx/authn', {
    username: user,
    password: `${user}-password`,
    clientid: user,
    peerhost: address,
  });
  expect(body.result).toBe('allow');
}

/** One /emqx/authz publish check: its result and how long the reply took. */
async function ask(r: Running, user: string, address: string, topic: string) {
  const start = performance.now();
  const { status, body } = await post(r.url, '/emqx/authz', {
    username: user,
    clientid: user,
    peerhost: address,
    topic,
    action: 'publish',
    qos: '1',
    retain: 'false',
  });
  expect(status).toBe(200);
  return { result: body.result, ms: performance.now() - start, start, end: performance.now() };
}

const slowedEvents = (r: Running) =>
  r.events.filter(({ event }) => event.kind === 'rate-limited' && !event.refused);

describe('slowed, then refused (EMQX over HTTP)', () => {
  it('holds the replies of repeated denied asks longer and longer, then denies everything; a legitimate allow is not held', async () => {
    const r = await start('{ maxDelayMs: 800, maxHeld: 2 }');
    await login(r, 'dev0', '10.1.0.1');
    await login(r, 'legit', '10.1.0.2');

    let flooding = true;
    const legit: Awaited<ReturnType<typeof ask>>[] = [];
    const legitLoop = (async () => {
      for (let n = 0; flooding && n < 60; n++) {
        legit.push(await ask(r, 'legit', '10.1.0.2', `devices/legit/${n}`));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();

    // dev0 asks again as soon as each deny comes back, until the defenses refuse it outright.
    const denied: Awaited<ReturnType<typeof ask>>[] = [];
    const heldAt: number[] = [];
    for (let n = 0; n < 30; n++) {
      const before = slowedEvents(r).length;
      denied.push(await ask(r, 'dev0', '10.1.0.1', `devices/other/${n}`));
      if (slowedEvents(r).length > before) heldAt.push(n);
      if (r.events.some(({ event }) => event.kind === 'rate-limited' && event.refused)) break;
    }
    flooding = false;
    await legitLoop;

    expect(denied.every((d) => d.result === 'deny')).toBe(true);
    const holds = slowedEvents(r).map(({ event }) => event.holdMs!);
    expect(holds.length).toBeGreaterThanOrEqual(4);
    for (let i = 1; i < holds.length; i++) expect(holds[i]).toBeGreaterThan(holds[i - 1]!);
    expect(holds.at(-1)).toBeLessThanOrEqual(800);
    // Each held reply came back no sooner than its hold; the ones before the slowdown were not held.
    for (const [i, n] of heldAt.entries()) expect(denied[n]!.ms).toBeGreaterThanOrEqual(holds[i]! - 1);
    expect(heldAt[0]).toBeGreaterThanOrEqual(4);
    expect(Math.max(...denied.slice(0, heldAt[0]).map((d) => d.ms))).toBeLessThan(holds.at(-1)!);

    // Then refused: its own topic is denied too, at once.
    const refused = await ask(r, 'dev0', '10.1.0.1', 'devices/dev0/mine');
    expect(refused.result).toBe('deny');
    expect(slowedEvents(r)).toHaveLength(holds.length);

    // The legitimate client all along: every ask allowed, none held.
    expect(legit.length).toBeGreaterThanOrEqual(10);
    expect(legit.every((a) => a.result === 'allow')).toBe(true);
    expect(Math.max(...legit.map((a) => a.ms))).toBeLessThan(400);
    expect(r.events.filter(({ event }) => event.subject === 'legit')).toEqual([]);

    const metrics = await fetch(`${r.url}/metrics`, { headers: { authorization: 'Bearer t' } });
    const text = await metrics.text();
    expect(text).toMatch(
      new RegExp(`^mqtt_warden_authorization_held_total\\{key="principal"\\} ${holds.length}$`, 'm'),
    );
    expect(text).toMatch(
      /^mqtt_warden_defense_refusals_total\{defense="rate-limited",key="principal"\} \d+$/m,
    );
  });

  it('holds at most maxHeld replies at once however many clients flood; the others are answered at once', async () => {
    const r = await start('{ maxDelayMs: 800, maxHeld: 2 }');
    const flooders = USERS.filter((u) => u.startsWith('dev')).map((u, n) => ({ u, address: `10.2.0.${n}` }));
    for (const f of flooders) await login(r, f.u, f.address);

    // Drain every flooder to 10 tokens at once: 9 concurrent denies each (63 requests in flight).
    await Promise.all(
      flooders.flatMap((f) => Array.from({ length: 9 }, (_, n) => ask(r, f.u, f.address, `x/${n}`))),
    );
    await new Promise((resolve) => setTimeout(resolve, 900));
    const before = r.events.length;

    // The wave: 3 concurrent denied asks from each of the 7 flooders, all deep in the slowdown.
    const wave = await Promise.all(
      flooders.flatMap((f) => Array.from({ length: 3 }, (_, n) => ask(r, f.u, f.address, `y/${n}`))),
    );
    expect(wave.every((a) => a.result === 'deny')).toBe(true);
    const held = r.events
      .slice(before)
      .filter(({ event }) => event.kind === 'rate-limited' && !event.refused);
    expect(held.length).toBeGreaterThanOrEqual(1);
    expect(held.length).toBeLessThanOrEqual(2);
    const shortestHold = Math.min(...held.map(({ event }) => event.holdMs!));
    expect(shortestHold).toBeGreaterThan(500);
    // As the clients saw it: no more than maxHeld replies took as long as a hold; the 19 others did not.
    const latencies = wave.map((a) => a.ms).sort((a, b) => b - a);
    expect(latencies[2]).toBeLessThan(shortestHold);

    // Over the whole run, never more than maxHeld holds at once (the server's own account).
    const intervals = slowedEvents(r).map(({ event, at }) => [at, at + event.holdMs!] as const);
    for (const [start] of intervals) {
      const active = intervals.filter(([s, e]) => s <= start && start < e - 1).length;
      expect(active).toBeLessThanOrEqual(2);
    }
  });

  it('sends held replies at once when the server closes', async () => {
    const r = await start('{ maxDelayMs: 1000, maxHeld: 2 }');
    await login(r, 'dev0', '10.3.0.1');
    for (let n = 0; n < 9; n++) await ask(r, 'dev0', '10.3.0.1', `x/${n}`);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const heldCount = slowedEvents(r).length;
    const pending = ask(r, 'dev0', '10.3.0.1', 'x/last');
    // Wait for the last ask to be held (its hold is about the full second).
    const deadline = performance.now() + 5000;
    while (slowedEvents(r).length === heldCount && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const hold = slowedEvents(r).at(-1)!.event.holdMs!;
    expect(hold).toBeGreaterThan(900);
    const closing = performance.now();
    await r.server.close();
    open = undefined;
    const reply = await pending;
    expect(reply.result).toBe('deny');
    // Released by close: the reply and the close came well before the hold would have ended.
    expect(reply.end - closing).toBeLessThan(hold / 2);
  });

  it('audits a held reply as rate-limited with reason slowed, not as a lock or a refusal', () => {
    const base = { key: 'principal', subject: 'dev0', address: '10.1.0.1', until: 1 } as const;
    expect(defenseAuditEvent({ ...base, kind: 'rate-limited', refused: false, holdMs: 300 })).toMatchObject({
      type: 'rate-limited',
      reason: 'slowed',
      principalId: 'dev0',
    });
    expect(defenseAuditEvent({ ...base, kind: 'rate-limited', refused: true })).toMatchObject({
      type: 'rate-limited',
      reason: 'rate-limited',
    });
  });
});

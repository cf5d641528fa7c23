import { type AuditContext, createGuard, type Decision, type Guard, type Principal } from '@mqtt-warden/core';
import {
  createDefenses,
  type DefenseEvent,
  type Defenses,
  type DefensesConfigInput,
  parseDefensesConfig,
  SlowdownHolds,
} from '@mqtt-warden/defenses';
import { afterEach, describe, expect, it } from 'vitest';

// Slowed, then refused: refusals drain a key's bucket; below half of it, refused replies get a hold that
// grows with the deficit (never on an allow); once empty, everything is refused at once. The clock is
// injected, so the buckets refill only when a test moves it.

const EMQX: AuditContext = { adapter: 'emqx' };

function principal(id: string, address = '10.0.0.1'): Principal {
  return {
    id,
    clientId: `c-${id}`,
    username: id,
    method: 'test',
    roles: [],
    attributes: {},
    remoteAddress: address,
  };
}

/** `ok/…` allowed, `boom/…` a failed decision, anything else refused by default. */
function topicGuard(): Guard {
  return createGuard({
    authenticators: [],
    authorizer: {
      authorize: (_p, r) =>
        r.topic.startsWith('ok/')
          ? { allowed: true, reason: 'rule' }
          : r.topic.startsWith('boom/')
            ? { allowed: false, reason: 'error' }
            : { allowed: false, reason: 'default' },
    },
  });
}

const opened: Defenses[] = [];
afterEach(async () => {
  for (const d of opened.splice(0)) await d.close();
});

/** Principal buckets of 100 tokens refilled at 10/s; a refusal costs 10; client and address keys roomy. */
async function slowDefenses(slowdown: NonNullable<DefensesConfigInput>['rateLimits'] = {}) {
  let time = 1_000_000;
  const events: DefenseEvent[] = [];
  const defenses = await createDefenses(
    {
      lockout: { enabled: false },
      storm: { enabled: false },
      rateLimits: {
        ...slowdown,
        requests: {
          perPrincipal: { perSecond: 10, burst: 100 },
          perClientId: { perSecond: 1000, burst: 100_000 },
          perAddress: { perSecond: 1000, burst: 100_000 },
          deniedCost: 10,
          ...slowdown.requests,
          slowdown: { below: 0.5, maxDelayMs: 400, maxHeld: 4, ...slowdown.requests?.slowdown },
        },
      },
    },
    { now: () => time, onEvent: (e) => events.push(e) },
  );
  opened.push(defenses);
  const guard = defenses.protect(topicGuard());
  return {
    defenses,
    events,
    guard,
    advance: (ms: number) => {
      time += ms;
    },
    /** `null`: a caller that names no adapter. */
    ask: (p: Principal, topic: string, context: AuditContext | null = EMQX): Decision =>
      guard.authorize(p, { action: 'publish', topic }, context ?? undefined),
  };
}

describe('slowed, then refused', () => {
  it('holds refused replies once the bucket is below half, longer as it drains, then refuses everything', async () => {
    const { ask, advance, events, defenses } = await slowDefenses();
    const alice = principal('alice');
    // 100 → 50 tokens: five refusals answered at once.
    for (let i = 0; i < 5; i++) expect(ask(alice, `no/${i}`).holdMs).toBeUndefined();
    // 40 tokens: 10 below the 50 where slowing starts, a fifth of the way → a fifth of 400 ms.
    const first = ask(alice, 'no/5');
    expect(first).toMatchObject({ allowed: false, reason: 'default', holdMs: 80 });
    // One hold per key at a time: the next refusal, while the first is held, goes out at once.
    expect(ask(alice, 'no/6').holdMs).toBeUndefined();
    // An allow is never held, even while the key is being slowed.
    expect(ask(alice, 'ok/1')).toEqual({ allowed: true, reason: 'rule' });
    // A client that waits for each held reply before asking again: each hold longer than the one
    // before, up to maxDelayMs (400) at an empty bucket.
    const holds: number[] = [first.holdMs!];
    advance(100);
    while (holds.length < 10 && holds.at(-1)! < 400) {
      const decision = ask(alice, `no/x${holds.length}`);
      expect(decision.allowed).toBe(false);
      holds.push(decision.holdMs ?? 0);
      advance(decision.holdMs ?? 0);
    }
    expect(holds).toEqual([80, 240, 301, 357, 400]);
    // The one that does not wait finds its bucket empty: refused without evaluation, allowed topics
    // too, and at once.
    expect(ask(alice, 'no/y').holdMs).toBe(400);
    holds.push(400);
    const refused = ask(alice, 'ok/2');
    expect(refused).toMatchObject({ allowed: false, message: expect.stringContaining('too many') });
    expect(refused.holdMs).toBeUndefined();
    expect(defenses.stats().held).toBe(holds.length);
    const slowed = events.filter((e) => e.kind === 'rate-limited' && !e.refused);
    expect(slowed).toHaveLength(holds.length);
    expect(slowed[0]).toMatchObject({ key: 'principal', subject: 'alice', holdMs: 80, address: '10.0.0.1' });
    expect(events.at(-1)).toMatchObject({ kind: 'rate-limited', refused: true, subject: 'alice' });
    // Other principals are untouched.
    expect(ask(principal('bob', '10.0.0.2'), 'ok/1').allowed).toBe(true);
  });

  it('holds at most maxHeld replies at once, all keys together', async () => {
    const { ask, advance } = await slowDefenses({ requests: { slowdown: { maxHeld: 2 } } });
    const drained = ['p1', 'p2', 'p3'].map((id, n) => principal(id, `10.0.1.${n}`));
    for (const p of drained) for (let i = 0; i < 6; i++) ask(p, `no/${i}`);
    // Each of the three was at 40 tokens on its sixth refusal: the first two were held, the third not.
    const next = drained.map((p) => ask(p, 'no/again').holdMs);
    expect(next).toEqual([undefined, undefined, undefined]);
    advance(100);
    // Both holds over (80 ms): holds free again, but still only two at once.
    const after = drained.map((p) => ask(p, 'no/later').holdMs);
    expect(after.filter((ms) => ms !== undefined)).toHaveLength(2);
  });

  it('holds no reply of go-auth, of an unnamed caller, with slowdown off, or for a failed decision', async () => {
    const cases: [NonNullable<DefensesConfigInput>['rateLimits'], AuditContext | null, string][] = [
      [{}, { adapter: 'go-auth' }, 'no/'],
      [{}, null, 'no/'],
      [{ requests: { slowdown: { enabled: false } } }, EMQX, 'no/'],
      [{}, EMQX, 'boom/'],
    ];
    for (const [config, context, prefix] of cases) {
      const { ask, defenses } = await slowDefenses(config);
      const alice = principal('alice');
      const decisions = Array.from({ length: 10 }, (_, i) => ask(alice, `${prefix}${i}`, context));
      expect(decisions.filter((d) => d.allowed || d.holdMs !== undefined)).toEqual([]);
      expect(defenses.stats().held).toBe(0);
      // Still refused at once when empty.
      expect(ask(alice, 'ok/1', context).allowed).toBe(false);
    }
    // The same requests through an adapter in the list are held.
    const { ask } = await slowDefenses({ requests: { slowdown: { adapters: ['go-auth'] } } });
    const held = Array.from({ length: 9 }, (_, i) =>
      ask(principal('alice'), `no/${i}`, { adapter: 'go-auth' }),
    );
    expect(held.some((d) => d.holdMs !== undefined)).toBe(true);
  });

  it('never holds a decision the cache shares: a held deny is a copy', async () => {
    const { ask } = await slowDefenses();
    const alice = principal('alice');
    const decisions = Array.from({ length: 6 }, () => ask(alice, 'no/same'));
    expect(decisions[5]!.holdMs).toBe(80);
    // The guard's cached decision for that topic (returned before) is left without a hold.
    expect(decisions[4]!.holdMs).toBeUndefined();
  });
});

describe('the slowdown config', () => {
  it('is on by default, small and bounded', () => {
    expect(parseDefensesConfig().rateLimits.requests.slowdown).toEqual({
      enabled: true,
      below: 0.5,
      maxDelayMs: 500,
      maxHeld: 2,
      adapters: ['aedes', 'emqx', 'rabbitmq'],
    });
  });

  it('refuses a hold longer than a second and an empty maxHeld', () => {
    expect(() =>
      parseDefensesConfig({ rateLimits: { requests: { slowdown: { maxDelayMs: 5000 } } } }),
    ).toThrow(/maxDelayMs/);
    expect(() => parseDefensesConfig({ rateLimits: { requests: { slowdown: { maxHeld: 0 } } } })).toThrow(
      /maxHeld/,
    );
    expect(() => parseDefensesConfig({ rateLimits: { requests: { slowdown: { below: 0 } } } })).toThrow(
      /below/,
    );
  });
});

describe('SlowdownHolds', () => {
  it('keeps at most maxHeld holds however many keys ask, and forgets ended ones', () => {
    let time = 0;
    const holds = new SlowdownHolds({ maxHeld: 3, now: () => time });
    let granted = 0;
    for (let n = 0; n < 10_000; n++) {
      if (holds.reserve([`client:${n}`], 50)) granted++;
      expect(holds.size).toBeLessThanOrEqual(3);
      time += 1;
    }
    // Three every 50 ms over 10 s.
    expect(granted).toBe(3 * (10_000 / 50));
    time += 50;
    expect(holds.size).toBe(0);
  });

  it('refuses a second hold for any key a held request shares', () => {
    const holds = new SlowdownHolds({ maxHeld: 10, now: () => 0 });
    expect(holds.reserve(['client:c1', 'address:10.0.0.1'], 100)).toBe(true);
    expect(holds.reserve(['client:c2', 'address:10.0.0.1'], 100)).toBe(false);
    expect(holds.reserve(['client:c2', 'address:10.0.0.2'], 100)).toBe(true);
  });
});

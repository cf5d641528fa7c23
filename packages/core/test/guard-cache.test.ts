import { type AccessRequest, createGuard, type Decision, type Principal } from '@mqtt-warden/core';
import { afterEach, describe, expect, it, vi } from 'vitest';

const principal = (extra: Partial<Principal> = {}): Principal => ({
  id: 'dev1',
  clientId: 'dev1',
  username: 'dev1',
  method: 'test',
  roles: ['device'],
  attributes: {},
  ...extra,
});
const publish: AccessRequest = { action: 'publish', topic: 'devices/dev1/telemetry', qos: 1 };

describe('createGuard: the decision cache', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('denies at the expiry on the exact clock, though the cache clock may lag', () => {
    vi.useFakeTimers({ now: 1_000 });
    const authorize = vi.fn((): Decision => ({ allowed: true, reason: 'rule' }));
    const guard = createGuard({ authenticators: [], authorizer: { authorize } });
    const p = principal({ expiresAt: 1_050 });
    expect(guard.authorize(p, publish).allowed).toBe(true);
    // The system clock moves on, no timer has run: the coarse reading still says 1,000.
    vi.setSystemTime(1_049);
    expect(guard.authorize(p, publish).allowed).toBe(true);
    vi.setSystemTime(1_050);
    expect(guard.authorize(p, publish)).toMatchObject({ allowed: false, reason: 'expired' });
    expect(guard.authorize(principal({ expiresAt: 1_050, superuser: true }), publish).allowed).toBe(false);
    expect(authorize).toHaveBeenCalledOnce(); // the second allow came from the cache
  });

  it('refuses an expired principal on the first request after a stall that no timer saw', () => {
    vi.useFakeTimers({ now: 1_000 });
    const guard = createGuard({
      authenticators: [],
      authorizer: { authorize: () => ({ allowed: true, reason: 'rule' }) },
    });
    const p = principal({ expiresAt: 1_500 });
    expect(guard.authorize(p, publish).allowed).toBe(true);
    // A synchronous burst: a second passes with no turn of the event loop.
    vi.setSystemTime(2_000);
    let allowed = 0;
    for (let i = 0; i < 200; i++) if (guard.authorize(p, publish).allowed) allowed++;
    expect(allowed).toBe(0);
  });

  it('never serves a cached decision to a request with an action or QoS outside the protocol', () => {
    // Only a subscribe at QoS 0 is allowed; a stray QoS 4 publish must not take its cached slot.
    const authorize = vi.fn(
      (_p: Principal, r: AccessRequest): Decision => ({
        allowed: r.action === 'subscribe' && r.qos === 0,
        reason: 'rule',
      }),
    );
    const guard = createGuard({ authenticators: [], authorizer: { authorize } });
    const p = principal();
    expect(guard.authorize(p, { action: 'subscribe', topic: 'a/b', qos: 0 }).allowed).toBe(true);
    const odd = { action: 'publish', topic: 'a/b', qos: 4 } as unknown as AccessRequest;
    expect(guard.authorize(p, odd).allowed).toBe(false);
    expect(guard.authorize(p, odd).allowed).toBe(false);
    expect(authorize).toHaveBeenCalledTimes(3); // the odd ones were decided, never cached
    expect(guard.stats().cacheSize).toBe(1);
  });
});

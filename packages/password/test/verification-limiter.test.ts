import { type ConnectRequest, createGuard } from '@mqtt-warden/core';
import { describe, expect, it } from 'vitest';
import {
  createMemoryStore,
  createPasswordAuthenticator,
  hashPassword,
  VerificationLimiter,
} from '../src/index.js';

/** A task that finishes when told to, recording when it started. */
function gate() {
  const started: string[] = [];
  const releases: (() => void)[] = [];
  const task = (name: string) => () =>
    new Promise<string>((resolve) => {
      started.push(name);
      releases.push(() => resolve(name));
    });
  const releaseOne = async () => {
    releases.shift()?.();
    await new Promise((r) => setImmediate(r));
  };
  return { started, task, releaseOne };
}

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: { code?: string }) => e.code,
  );

describe('VerificationLimiter', () => {
  it('runs at most `concurrency` tasks and lets sources take turns', async () => {
    const limiter = new VerificationLimiter({ concurrency: 2 });
    const { started, task, releaseOne } = gate();
    const results = [
      ...['f1', 'f2', 'f3', 'f4', 'f5'].map((n) => limiter.run('flooder', task(n))),
      limiter.run('device', task('d1')),
    ];
    expect(started).toEqual(['f1', 'f2']);
    expect(limiter.load).toEqual({ running: 2, waiting: 4 });
    await releaseOne();
    await releaseOne();
    // The device's attempt goes second, not behind the flooder's three others.
    expect(started).toEqual(['f1', 'f2', 'f3', 'd1']);
    for (let i = 0; i < 4; i++) await releaseOne();
    expect(await Promise.all(results)).toEqual(['f1', 'f2', 'f3', 'f4', 'f5', 'd1']);
    expect(limiter.load).toEqual({ running: 0, waiting: 0 });
  });

  it('answers ERR_UNAVAILABLE when the queue or a source share is full', async () => {
    const limiter = new VerificationLimiter({ concurrency: 1, maxQueue: 3, maxQueuePerSource: 2 });
    const { started, task, releaseOne } = gate();
    const running = limiter.run('a', task('a0'));
    const queued = [limiter.run('a', task('a1')), limiter.run('a', task('a2'))];
    expect(await codeOf(limiter.run('a', task('a3')))).toBe('ERR_UNAVAILABLE'); // a's share
    queued.push(limiter.run('b', task('b1')));
    expect(await codeOf(limiter.run('c', task('c1')))).toBe('ERR_UNAVAILABLE'); // the whole queue
    for (let i = 0; i < 4; i++) await releaseOne();
    expect(await Promise.all([running, ...queued])).toEqual(['a0', 'a1', 'a2', 'b1']);
    expect(started).toEqual(['a0', 'a1', 'b1', 'a2']);
  });

  it('answers ERR_UNAVAILABLE at the deadline and never starts the expired task', async () => {
    const limiter = new VerificationLimiter({ concurrency: 1, maxWaitMs: 30 });
    const { started, task, releaseOne } = gate();
    const running = limiter.run('a', task('a0'));
    const start = performance.now();
    expect(await codeOf(limiter.run('b', task('b1')))).toBe('ERR_UNAVAILABLE');
    expect(performance.now() - start).toBeLessThan(1000);
    await releaseOne();
    expect(await running).toBe('a0');
    expect(started).toEqual(['a0']);
    expect(limiter.load).toEqual({ running: 0, waiting: 0 });
  });
});

describe('a flood of argon2id guesses', () => {
  const connect = (username: string, password: string, remoteAddress: string): ConnectRequest => ({
    clientId: username,
    username,
    password: new TextEncoder().encode(password),
    transport: { tls: true, remoteAddress },
  });

  it('keeps a legitimate login fast while 256 wrong passwords arrive at once, answering the excess `unavailable`', async () => {
    // Without the limiter (before issue 10), the device's login waited behind all 256: 40-70× one verification here.
    const params = { memoryCost: 4096, timeCost: 3 };
    const store = createMemoryStore([
      { username: 'victim', hash: await hashPassword('victim secret', params) },
      { username: 'device', hash: await hashPassword('device secret', params) },
    ]);
    const guard = createGuard({
      authenticators: [createPasswordAuthenticator({ store, cache: false })],
      authorizer: { authorize: () => ({ allowed: false, reason: 'default' }) },
    });
    // One verification alone, after a warm-up: the unit of the bound below.
    await guard.authenticate(connect('device', 'device secret', '10.0.0.2'));
    const single: number[] = [];
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      expect((await guard.authenticate(connect('device', 'device secret', '10.0.0.2'))).ok).toBe(true);
      single.push(performance.now() - start);
    }
    const one = single.sort((a, b) => a - b)[1] as number;

    const floodStart = performance.now();
    const flood = Array.from({ length: 256 }, (_, i) =>
      guard
        .authenticate(connect('victim', `guess ${i}`, '203.0.113.66'))
        .then((result) => ({ result, ms: performance.now() - floodStart })),
    );
    await new Promise((r) => setImmediate(r));
    const start = performance.now();
    const login = await guard.authenticate(connect('device', 'device secret', '10.0.0.2'));
    const loginMs = performance.now() - start;
    const answers = await Promise.all(flood);

    expect(login.ok).toBe(true);
    // Its turn comes after the attempts already running: a few verifications, not 64 rounds of 4.
    expect(loginMs).toBeLessThan(Math.max(12 * one, 150));
    const reasons = answers.map((a) => (a.result.ok ? 'allowed' : a.result.reason));
    expect(reasons).not.toContain('allowed');
    expect(reasons.filter((r) => r === 'unavailable').length).toBeGreaterThan(200);
    expect(new Set(reasons)).toEqual(new Set(['bad-credentials', 'unavailable']));
    // Every attempt is answered well before the 5 s an EMQX broker waits.
    expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(4000);
  });
});

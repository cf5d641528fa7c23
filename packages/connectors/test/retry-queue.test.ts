import { describe, expect, it } from 'vitest';
import { RetryQueue } from '../src/index.js';

describe('RetryQueue', () => {
  it('retries a failing job with back-off until it succeeds, and counts the failures', async () => {
    const failures: string[] = [];
    const queue = new RetryQueue({
      baseDelayMs: 5,
      onFailure: (key, error, attempt, willRetry) =>
        failures.push(`${key} ${(error as Error).message} ${attempt} ${willRetry}`),
    });
    let calls = 0;
    queue.push('kick:a', async () => {
      calls++;
      if (calls < 3) throw new Error('down');
    });
    await queue.idle();
    expect(calls).toBe(3);
    expect(failures).toEqual(['kick:a down 1 true', 'kick:a down 2 true']);
    expect(queue.stats).toEqual({ succeeded: 1, failed: 2, gaveUp: 0, dropped: 0, pending: 0 });
  });

  it('gives up after maxAttempts', async () => {
    const queue = new RetryQueue({ baseDelayMs: 1, maxAttempts: 3 });
    let calls = 0;
    queue.push('x', async () => {
      calls++;
      throw new Error('always');
    });
    await queue.idle();
    expect(calls).toBe(3);
    expect(queue.stats).toMatchObject({ failed: 3, gaveUp: 1, succeeded: 0 });
  });

  it('merges a job into a waiting one with the same key', async () => {
    const queue = new RetryQueue({ concurrency: 1 });
    const ran: string[] = [];
    let release = () => {};
    queue.push('block', () => new Promise<void>((resolve) => (release = resolve)));
    queue.push('k', async () => void ran.push('first'));
    queue.push('k', async () => void ran.push('second'));
    release();
    await queue.idle();
    expect(ran).toEqual(['first']);
  });

  it('holds at most maxPending waiting jobs, dropping the oldest', async () => {
    const queue = new RetryQueue({ concurrency: 1, maxPending: 2 });
    const ran: string[] = [];
    let release = () => {};
    queue.push('block', () => new Promise<void>((resolve) => (release = resolve)));
    for (const key of ['a', 'b', 'c']) queue.push(key, async () => void ran.push(key));
    expect(queue.stats.pending).toBe(3);
    release();
    await queue.idle();
    expect(ran).toEqual(['b', 'c']);
    expect(queue.stats.dropped).toBe(1);
  });

  it('never makes push wait for a job', () => {
    const queue = new RetryQueue();
    queue.push('slow', () => new Promise<void>(() => {}));
    expect(queue.stats.pending).toBe(1);
    queue.close();
  });
});

import { type Decision, MAX_HOLD_MS, ReplyHolds } from '@mqtt-warden/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const DENY: Decision = { allowed: false, reason: 'default' };

describe('ReplyHolds', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Whether the promise has settled after the fake clock moved `ms`. */
  async function settledAfter(promise: Promise<void>, ms: number): Promise<boolean> {
    let done = false;
    void promise.then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(ms);
    return done;
  }

  it('has nothing to wait for without a hold, and never holds an allow', () => {
    const holds = new ReplyHolds();
    expect(holds.wait(DENY)).toBeUndefined();
    expect(holds.wait({ ...DENY, holdMs: 0 })).toBeUndefined();
    expect(holds.wait({ ...DENY, holdMs: Number.NaN })).toBeUndefined();
    expect(holds.wait({ allowed: true, reason: 'rule', holdMs: 500 })).toBeUndefined();
    expect(holds.size).toBe(0);
  });

  it("waits out a deny's hold", async () => {
    const holds = new ReplyHolds();
    const held = holds.wait({ ...DENY, holdMs: 300 })!;
    expect(holds.size).toBe(1);
    expect(await settledAfter(held, 299)).toBe(false);
    expect(await settledAfter(held, 1)).toBe(true);
    expect(holds.size).toBe(0);
  });

  it('honours at most MAX_HOLD_MS, whatever a guard asked', async () => {
    const holds = new ReplyHolds();
    const held = holds.wait({ ...DENY, holdMs: 3_600_000 })!;
    expect(await settledAfter(held, MAX_HOLD_MS)).toBe(true);
  });

  it('sends every held reply at once on release, its timer cleared', async () => {
    const holds = new ReplyHolds();
    const held = [holds.wait({ ...DENY, holdMs: 400 })!, holds.wait({ ...DENY, holdMs: 900 })!];
    expect(vi.getTimerCount()).toBe(2);
    holds.release();
    expect(vi.getTimerCount()).toBe(0);
    expect(holds.size).toBe(0);
    expect(
      await settledAfter(
        Promise.all(held).then(() => {}),
        0,
      ),
    ).toBe(true);
  });
});

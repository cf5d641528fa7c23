// The measuring loop shared by the credential benches: ROUNDS rounds of DURATION_MS (environment).
export const ROUNDS = Number(process.env.ROUNDS ?? 5);
export const DURATION_MS = Number(process.env.DURATION_MS ?? 1_000);

/**
 * Median ops/s of `fn(i)` (awaited sequentially) over ROUNDS rounds of DURATION_MS, after `warmup`
 * calls; the clock is read every `batch` calls, so a batch should take well under a millisecond.
 */
export async function opsPerSecond(fn, { warmup, batch }) {
  for (let i = 0; i < warmup; i++) await fn(i);
  const results = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = performance.now();
    let count = 0;
    while (performance.now() - start < DURATION_MS) {
      for (let i = 0; i < batch; i++) await fn(count + i);
      count += batch;
    }
    results.push((count * 1000) / (performance.now() - start));
  }
  results.sort((a, b) => a - b);
  return results[Math.floor(results.length / 2)];
}

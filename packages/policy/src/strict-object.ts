import { z } from 'zod';

/**
 * `z.strictObject` whose unknown-key error names the key, suggests the closest known key and lists
 * the allowed ones, so that a typo in a policy file says what to write instead.
 *
 * @example
 * ```ts
 * const Rule = strictObject({ effect: z.enum(['allow', 'deny']) });
 * // { efect: 'allow' } → 'unknown key "efect" (did you mean "effect"?); allowed keys: effect'
 * ```
 */
export function strictObject<const Shape extends z.ZodRawShape>(shape: Shape) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code !== 'unrecognized_keys') return undefined;
      // zod reports every unknown key of an object in one issue: one line per key, in the same order.
      return issue.keys
        .map((key) => {
          const guess = closest(key, known);
          return `unknown key "${key}"${guess ? ` (did you mean "${guess}"?)` : ''}; allowed keys: ${known.join(', ')}`;
        })
        .join('\n');
    },
  });
}

/** The known word within edit distance 2 of `word` (or a third of its length), if any. */
export function closest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of known) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

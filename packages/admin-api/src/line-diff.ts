/** Past this many line pairs (after trimming the common ends) the diff is whole-block: remove all, add all. */
const MAX_CELLS = 4_000_000;

/**
 * A line diff of two texts: each line prefixed with `  ` (kept), `- ` (removed) or `+ ` (added).
 *
 * @example
 * ```ts
 * lineDiff('a\nb\n', 'a\nc\n'); // ['  a', '- b', '+ c']
 * ```
 */
export function lineDiff(before: string, after: string): string[] {
  const a = before.replace(/\n$/, '').split('\n');
  const b = after.replace(/\n$/, '').split('\n');
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const kept = (lines: string[]) => lines.map((line) => `  ${line}`);
  const middle = middleDiff(a.slice(start, endA), b.slice(start, endB));
  return [...kept(a.slice(0, start)), ...middle, ...kept(a.slice(endA))];
}

/** Longest-common-subsequence diff of the differing middle. */
function middleDiff(a: string[], b: string[]): string[] {
  const n = a.length;
  const m = b.length;
  if (n * m > MAX_CELLS) return [...a.map((l) => `- ${l}`), ...b.map((l) => `+ ${l}`)];
  // lcs[i][j]: LCS length of a[i..] and b[j..], in one flat array.
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] =
        a[i] === b[j]
          ? lcs[(i + 1) * (m + 1) + j + 1]! + 1
          : Math.max(lcs[(i + 1) * (m + 1) + j]!, lcs[i * (m + 1) + j + 1]!);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push(`  ${a[i++]}`);
      j++;
    } else if (lcs[(i + 1) * (m + 1) + j]! >= lcs[i * (m + 1) + j + 1]!) out.push(`- ${a[i++]}`);
    else out.push(`+ ${b[j++]}`);
  }
  while (i < n) out.push(`- ${a[i++]}`);
  while (j < m) out.push(`+ ${b[j++]}`);
  return out;
}

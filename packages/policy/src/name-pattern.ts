/**
 * Compiles a name pattern (`*` matches any run of characters, possibly empty; all else is literal)
 * into a predicate. Used for client ids, usernames, methods, groups and attribute values.
 *
 * @example
 * ```ts
 * compileNamePattern('dev-*')('dev-42'); // true
 * ```
 */
export function compileNamePattern(pattern: string): (value: string) => boolean {
  if (!pattern.includes('*')) return (value) => value === pattern;
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const regex = new RegExp(`^${source}$`, 's');
  return (value) => regex.test(value);
}

/** True when `value` matches any of the patterns. */
export function compileNamePatterns(patterns: readonly string[]): (value: string) => boolean {
  const tests = patterns.map(compileNamePattern);
  return (value) => tests.some((test) => test(value));
}

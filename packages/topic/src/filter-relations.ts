import { plainFilter } from './parse-subscription.js';

/** True when a filter level can only match topic levels beginning with `$`. */
function isDollarLiteral(level: string): boolean {
  return level.charCodeAt(0) === 36;
}

/**
 * True when the topic made of the first `i` levels matched by `filter` can only be the empty string,
 * which is not a valid topic name: no levels, or a single level that must be empty.
 */
export function parentIsEmptyTopic(filter: readonly string[], i: number): boolean {
  return i === 0 || (i === 1 && filter[0] === '');
}

function isWildcard(level: string | undefined): boolean {
  return level === '+' || level === '#';
}

/**
 * True iff every topic name that `inner` matches is also matched by `outer`. This is the test for
 * "may this client subscribe to `inner`?" under a rule granting `outer`: strict, so `a/+` does not cover
 * `a/#`, `+` does not cover `#`, and `#` does not cover `$SYS/x`. `$share/{group}/` prefixes are ignored.
 * Throws a TopicError if either filter is invalid.
 *
 * @example
 * ```ts
 * filterCovers('a/#', 'a/+/c'); // true
 * filterCovers('a/+', 'a/#');   // false: a/# also matches a/b/c
 * ```
 */
export function filterCovers(outer: string, inner: string): boolean {
  return coversLevels(plainFilter(outer).split('/'), plainFilter(inner).split('/'));
}

/** {@link filterCovers} on filters already split into levels. */
export function coversLevels(outer: readonly string[], inner: readonly string[]): boolean {
  // A wildcard first level never matches `$` topics, so it cannot cover a filter that only matches them.
  if (isWildcard(outer[0]) && isDollarLiteral(inner[0]!)) return false;
  for (let i = 0; ; i++) {
    const o = outer[i];
    const n = inner[i];
    if (o === '#') return true;
    if (o === undefined) return n === undefined;
    if (n === undefined) return false;
    // Inner `#` matches the parent topic (i levels) and everything below it. Outer `+/#` misses only the
    // parent, which is harmless when the parent is the empty topic name, never valid.
    if (n === '#') return o === '+' && outer[i + 1] === '#' && parentIsEmptyTopic(inner, i);
    if (o === '+') continue;
    if (n !== o) return false;
  }
}

/**
 * True iff some topic name is matched by both filters. Used to refuse a subscription that could
 * deliver a topic the client may not receive. `$share/{group}/` prefixes are ignored.
 * Throws a TopicError if either filter is invalid.
 *
 * @example
 * ```ts
 * filtersOverlap('a/+/c', 'a/b/#'); // true (a/b/c)
 * filtersOverlap('#', '$SYS/x');    // false
 * ```
 */
export function filtersOverlap(a: string, b: string): boolean {
  return overlapLevels(plainFilter(a).split('/'), plainFilter(b).split('/'));
}

/** {@link filtersOverlap} on filters already split into levels. */
export function overlapLevels(a: readonly string[], b: readonly string[]): boolean {
  const a0 = a[0]!;
  const b0 = b[0]!;
  if ((isWildcard(a0) && isDollarLiteral(b0)) || (isWildcard(b0) && isDollarLiteral(a0))) return false;
  for (let i = 0; ; i++) {
    const x = a[i];
    const y = b[i];
    if (x === '#' || y === '#') {
      // If one filter ends here, the only common topic has exactly i levels; that may be the empty name.
      return !((x === undefined || y === undefined) && i === 1 && (a0 === '' || b0 === ''));
    }
    if (x === undefined || y === undefined) return x === y;
    if (x !== '+' && y !== '+' && x !== y) return false;
  }
}

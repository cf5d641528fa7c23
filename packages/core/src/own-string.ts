/**
 * V8 cuts a string of this many chars or more out of another as a slice, and joins strings this long as
 * a pair, both keeping the whole of what they were made from alive (`SlicedString::kMinLength`,
 * `ConsString::kMinLength`); shorter ones are copies.
 */
export const SLICE_MIN = 13;

/**
 * `text` in a string of its own, not a slice or join of a request body. A value a cache or the session
 * table keeps (a topic, a username, a client id) would otherwise keep the whole body it was cut from alive
 * (a login's password, padding in another key), beyond the bytes the cache counts. The JSON round trip
 * builds a fresh string and is exact for every string (lone surrogates are written as escapes).
 *
 * @example
 * ```ts
 * cache.set(ownString(topic), decision); // the body `topic` was cut from can be collected
 * ```
 */
export function ownString(text: string): string {
  return text.length < SLICE_MIN ? text : (JSON.parse(JSON.stringify(text)) as string);
}

import type { PlainFormKeys } from './read-plain-form.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
const OPEN = 0x7b;
const CLOSE = 0x7d;
/** Up to 15 decimal digits an integer is below 2^53, so adding up its digits is exact. */
const MAX_DIGITS = 15;

/** A value {@link readPlainJson} reads. */
export type PlainJsonValue = string | number | boolean | null;

/**
 * A JSON body the way brokers send theirs, read in one pass without `JSON.parse`: exactly what
 * `secureJsonParse(body.toString('utf8'), { protoAction: 'error', constructorAction: 'error' })` gives
 * for it (same keys in the same order, same values, a plain object), built with the names of `keys`
 * (internalised once) rather than key strings cut from the body. "Plain" means: one object, JSON
 * whitespace around its tokens, every key one of `keys`, given once and written without escapes, and
 * every value a string of printable ASCII without escapes, an integer of at most 15 digits, `true`,
 * `false` or `null`. Anything else gives undefined and the caller takes the general path, which refuses
 * or reads it: this is a shortcut, never a second opinion.
 *
 * @example
 * ```ts
 * const keys = plainFormKeys(['acc', 'clientid', 'topic', 'username']);
 * readPlainJson(Buffer.from('{"acc":2,"clientid":"c1","topic":"a/b","username":"u1"}'), keys); // { acc: 2, clientid: 'c1', … }
 * readPlainJson(Buffer.from('{"topic":"a\\/b"}'), keys); // undefined: an escape
 * ```
 */
export function readPlainJson(body: Buffer, keys: PlainFormKeys): Record<string, PlainJsonValue> | undefined {
  // One char per byte: a byte above 0x7F shows as a char above it. Strings, not the Buffer, from here:
  // each Buffer call crosses into C++ (see readPlainFormValues).
  const text = body.toString('latin1');
  const names = keys.names;
  const out: Record<string, PlainJsonValue> = {};
  let seen = 0;
  let at = space(text, 0);
  if (text.charCodeAt(at) !== OPEN) return undefined;
  at = space(text, at + 1);
  if (text.charCodeAt(at) === CLOSE) {
    at++;
  } else {
    for (;;) {
      if (text.charCodeAt(at) !== QUOTE) return undefined;
      const from = at + 1;
      // A known key is printable ASCII without `"`: stop at the first `"`, give up at an escape.
      let to = from;
      for (let c = text.charCodeAt(to); c !== QUOTE; c = text.charCodeAt(++to)) {
        if (c === BACKSLASH || !(to < text.length)) return undefined;
      }
      const i = keys.indexIn(text, from, to);
      if (i < 0 || (seen & (1 << i)) !== 0) return undefined;
      seen |= 1 << i;
      at = space(text, to + 1);
      if (text.charCodeAt(at) !== COLON) return undefined;
      at = space(text, at + 1);
      const c = text.charCodeAt(at);
      let value: PlainJsonValue;
      if (c === QUOTE) {
        const start = at + 1;
        let end = start;
        for (let d = text.charCodeAt(end); d !== QUOTE; d = text.charCodeAt(++end)) {
          // Printable ASCII but `\`: JSON reads these chars as they are. NaN (the end) fails too.
          if (!(d >= 0x20 && d <= 0x7e) || d === BACKSLASH) return undefined;
        }
        value = text.slice(start, end);
        at = end + 1;
      } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
        const negative = c === MINUS;
        const first = negative ? at + 1 : at;
        let n = 0;
        let end = first;
        for (let d = text.charCodeAt(end); d >= ZERO && d <= NINE; d = text.charCodeAt(++end))
          n = n * 10 + (d - ZERO);
        const digits = end - first;
        // `-` alone, a leading zero (`01`) or too many digits to be exact: JSON.parse decides.
        if (digits === 0 || digits > MAX_DIGITS || (digits > 1 && text.charCodeAt(first) === ZERO)) {
          return undefined;
        }
        // `-0` is -0, as JSON.parse reads it.
        value = negative ? -n : n;
        at = end;
      } else if (text.startsWith('true', at)) {
        value = true;
        at += 4;
      } else if (text.startsWith('false', at)) {
        value = false;
        at += 5;
      } else if (text.startsWith('null', at)) {
        value = null;
        at += 4;
      } else {
        return undefined;
      }
      // Not `__proto__` (PlainFormKeys refuses it) and given once: a store makes an own data key.
      out[names[i] as string] = value;
      // A fraction, exponent or letters after a value are not `,` or `}`: given up here.
      at = space(text, at);
      const next = text.charCodeAt(at);
      if (next === CLOSE) {
        at++;
        break;
      }
      if (next !== COMMA) return undefined;
      at = space(text, at + 1);
    }
  }
  return space(text, at) === text.length ? out : undefined;
}

/** The index of the first char at or after `at` that is not JSON whitespace (space, tab, LF, CR). */
function space(text: string, at: number): number {
  for (
    let c = text.charCodeAt(at);
    c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
    c = text.charCodeAt(++at)
  );
  return at;
}

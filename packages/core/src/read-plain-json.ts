import { SLICE_MIN } from './own-string.js';
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
const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

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
  // The bytes are scanned as a Uint8Array (element reads, no calls); the short values are cut from one
  // string of one char per byte, the long ones decoded alone (a byte above 0x7F never gets there).
  const end = body.length;
  const names = keys.names;
  let text: string | undefined;
  const out: Record<string, PlainJsonValue> = {};
  let seen = 0;
  let count = 0;
  let at = space(body, 0);
  if (at === end || body[at] !== OPEN) return undefined;
  at = space(body, at + 1);
  if (at < end && body[at] === CLOSE) {
    at++;
  } else {
    for (;;) {
      if (at === end || body[at] !== QUOTE) return undefined;
      const from = at + 1;
      // A known key is printable ASCII without `"`: stop at the first `"`, give up at an escape.
      let to = from;
      for (;;) {
        if (to === end) return undefined;
        const c = body[to];
        if (c === QUOTE) break;
        if (c === BACKSLASH) return undefined;
        to++;
      }
      const i = keys.indexInBytes(body, from, to);
      if (i < 0 || (seen & (1 << i)) !== 0) return undefined;
      seen |= 1 << i;
      at = space(body, to + 1);
      if (at === end || body[at] !== COLON) return undefined;
      at = space(body, at + 1);
      if (at === end) return undefined;
      const c = body[at] as number;
      let value: PlainJsonValue;
      if (c === QUOTE) {
        const start = at + 1;
        let stop = start;
        for (;;) {
          if (stop === end) return undefined;
          const d = body[stop] as number;
          if (d === QUOTE) break;
          // Printable ASCII but `\`: JSON reads these chars as they are.
          if (d < 0x20 || d > 0x7e || d === BACKSLASH) return undefined;
          stop++;
        }
        // A long value decoded on its own, as JSON.parse makes it: a slice would keep the body (see ownString).
        if (stop - start < SLICE_MIN) {
          text ??= body.toString('latin1');
          value = text.slice(start, stop);
        } else {
          value = body.toString('latin1', start, stop);
        }
        at = stop + 1;
      } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
        const first = c === MINUS ? at + 1 : at;
        let n = 0;
        let stop = first;
        for (; stop < end; stop++) {
          const d = body[stop] as number;
          if (d < ZERO || d > NINE) break;
          n = n * 10 + (d - ZERO);
        }
        const digits = stop - first;
        // `-` alone, a leading zero (`01`) or too many digits to be exact: JSON.parse decides.
        if (digits === 0 || digits > MAX_DIGITS || (digits > 1 && body[first] === ZERO)) return undefined;
        // `-0` is -0, as JSON.parse reads it.
        value = c === MINUS ? -n : n;
        at = stop;
      } else if (word(body, at, TRUE)) {
        value = true;
        at += 4;
      } else if (word(body, at, FALSE)) {
        value = false;
        at += 5;
      } else if (word(body, at, NULL)) {
        value = null;
        at += 4;
      } else {
        return undefined;
      }
      // Not `__proto__` (PlainFormKeys refuses it) and given once: a store makes an own data key.
      put(out, count++, names[i] as string, value);
      // A fraction, exponent or letters after a value are not `,` or `}`: given up here.
      at = space(body, at);
      if (at === end) return undefined;
      const next = body[at];
      if (next === CLOSE) {
        at++;
        break;
      }
      if (next !== COMMA) return undefined;
      at = space(body, at + 1);
    }
  }
  return space(body, at) === end ? out : undefined;
}

/**
 * `out[name] = value` for the `at`-th key of a body. One store site per position (the first eight): with
 * a broker's bodies in one key order, each site sees one object shape and one key and stores directly,
 * where one site for every key went megamorphic (a generic lookup per key, measured as most of the read).
 * Every case is the same store; only where it sits in the code differs.
 */
function put(out: Record<string, PlainJsonValue>, at: number, name: string, value: PlainJsonValue): void {
  switch (at) {
    case 0:
      out[name] = value;
      return;
    case 1:
      out[name] = value;
      return;
    case 2:
      out[name] = value;
      return;
    case 3:
      out[name] = value;
      return;
    case 4:
      out[name] = value;
      return;
    case 5:
      out[name] = value;
      return;
    case 6:
      out[name] = value;
      return;
    case 7:
      out[name] = value;
      return;
    default:
      out[name] = value;
  }
}

/** The index of the first byte at or after `at` that is not JSON whitespace (space, tab, LF, CR). */
function space(body: Buffer, at: number): number {
  for (; at < body.length; at++) {
    const c = body[at];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
  }
  return at;
}

/** True when `body` has `bytes` at `at`. */
function word(body: Buffer, at: number, bytes: readonly number[]): boolean {
  if (at + bytes.length > body.length) return false;
  for (let k = 0; k < bytes.length; k++) if (body[at + k] !== bytes[k]) return false;
  return true;
}

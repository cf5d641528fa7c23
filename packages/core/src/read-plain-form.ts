import { isAscii } from 'node:buffer';
import { ownString, SLICE_MIN } from './own-string.js';

const PLUS = 0x2b;
const PERCENT = 0x25;

/** What a key of a plain form may be: ASCII without the form's separators and escapes. */
const PLAIN_KEY = /^[\x21-\x24\x27-\x2a\x2c-\x3c\x3e-\x7e]+$/;

/**
 * The keys a plain-form read takes, in order (a value's index in {@link readPlainFormValues} is its
 * key's), built once per schema.
 */
export class PlainFormKeys {
  readonly names: readonly string[];
  /** Key indices by key length. */
  readonly #byLength: readonly (readonly number[] | undefined)[];
  /** Each name's bytes (names are ASCII), for {@link indexInBytes}. */
  readonly #bytes: readonly Uint8Array[];
  /** Each key with its `=`: one compare finds both where the guess of the next key is right. */
  readonly #pairs: readonly string[];
  /**
   * The guess of the next key: at 0 the first, at `i + 1` the one after key `i`. A body's order first
   * guessed as the names' order, then as the last body that missed a guess had it (brokers keep one).
   */
  readonly #next: Int8Array;

  constructor(names: readonly string[]) {
    if (names.length > 31) throw new RangeError('at most 31 keys');
    if (new Set(names).size !== names.length) throw new RangeError('keys must differ');
    const byLength: number[][] = [];
    names.forEach((name, i) => {
      if (!PLAIN_KEY.test(name)) throw new RangeError(`not a plain form key: ${JSON.stringify(name)}`);
      // A store of it would set the read object's prototype instead of a key.
      if (name === '__proto__') throw new RangeError('__proto__ cannot be a key');
      const same = byLength[name.length] ?? [];
      same.push(i);
      byLength[name.length] = same;
    });
    // Frozen: a key set is shared (exported by the adapters), and its names become keys of read objects.
    this.names = Object.freeze([...names]);
    this.#byLength = byLength;
    this.#bytes = names.map((name) => new Uint8Array(Buffer.from(name, 'latin1')));
    this.#pairs = names.map((name) => `${name}=`);
    this.#next = Int8Array.from({ length: names.length + 1 }, (_, i) => i);
  }

  /** The key guessed to come first (`after` 0) or after key `after - 1`. */
  guess(after: number): number {
    return this.#next[after] as number;
  }

  /** Learns that key `i` came where {@link guess} guessed otherwise. */
  learn(after: number, i: number): void {
    this.#next[after] = i;
  }

  /**
   * Whether `text` has key `i` and then `=` at `from` (false for an `i` out of range): then that is the
   * key of the pair there (a key has no `=`, so its `=` is the pair's first), as {@link indexIn} finds.
   */
  pairAt(text: string, from: number, i: number): boolean {
    const pair = this.#pairs[i];
    // Cut out and compared natively: an inlined startsWith compares char by char, several times slower.
    return pair !== undefined && text.slice(from, from + pair.length) === pair;
  }

  /** The index of the key that is exactly `text[from, to)`, or -1. */
  indexIn(text: string, from: number, to: number): number {
    const candidates = this.#byLength[to - from];
    if (candidates === undefined) return -1;
    // Cut out once and compared natively: an inlined startsWith compares char by char, several times slower.
    const key = text.slice(from, to);
    for (const i of candidates) if (key === this.names[i]) return i;
    return -1;
  }

  /** The index of the key whose bytes are exactly `bytes[from, to)`, or -1. */
  indexInBytes(bytes: Uint8Array, from: number, to: number): number {
    const candidates = this.#byLength[to - from];
    if (candidates === undefined) return -1;
    // Byte by byte: faster than a string compare here (no string, no builtin call).
    for (let c = 0; c < candidates.length; c++) {
      const i = candidates[c] as number;
      const name = this.#bytes[i] as Uint8Array;
      let k = 0;
      while (k < name.length && bytes[from + k] === name[k]) k++;
      if (k === name.length) return i;
    }
    return -1;
  }
}

/**
 * The keys a {@link readPlainForm} takes, each with its bit (at most 31 keys), built once per schema.
 *
 * @example
 * ```ts
 * const ACL_KEYS = plainFormKeys(['username', 'clientid', 'topic', 'acc']);
 * ```
 */
export function plainFormKeys(keys: readonly string[]): PlainFormKeys {
  return new PlainFormKeys(keys);
}

/**
 * A form body the way brokers send theirs, read in one pass into a plain object of exactly its fields:
 * what `UrlEncodedForm.parse(body).fields` holds for it, without that parser's maps, sets and copies.
 * "Plain" means: every key is one of `keys`, given once and written without escapes, and every byte and
 * every `%XX` escape is ASCII (`+` is a space, a `%` not followed by two hex digits is kept, as there).
 * Anything else gives undefined and the caller takes the general path ({@link UrlEncodedForm}), which
 * refuses or reads it: this is a shortcut, never a second opinion.
 *
 * @example
 * ```ts
 * readPlainForm(Buffer.from('username=u1&vhost=%2F'), plainFormKeys(['username', 'vhost'])); // { username: 'u1', vhost: '/' }
 * readPlainForm(Buffer.from('username=%C3%A9'), plainFormKeys(['username'])); // undefined: not ASCII
 * ```
 */
export function readPlainForm(body: Buffer, keys: PlainFormKeys): Record<string, string> | undefined {
  const order: number[] = [];
  const values = readPlainFormValues(body, keys, order);
  if (values === undefined) return undefined;
  // In the body's order, as UrlEncodedForm gives them.
  const out: Record<string, string> = {};
  for (const i of order) out[keys.names[i] as string] = values[i] as string;
  return out;
}

/**
 * {@link readPlainForm} without building an object: the values by key index (undefined for a key not
 * given). `order`, if given, receives the key indices in the body's order (some of them when the
 * result is undefined).
 *
 * @example
 * ```ts
 * readPlainFormValues(Buffer.from('vhost=%2F&username=u1'), plainFormKeys(['username', 'vhost'])); // ['u1', '/']
 * ```
 */
export function readPlainFormValues(
  body: Buffer,
  keys: PlainFormKeys,
  order?: number[],
): (string | undefined)[] | undefined {
  // A byte above 0x7F anywhere makes the body not plain (in a key it is no known key, in a value it is
  // not ASCII): one native scan of the body, then no value is walked for it.
  if (!isAscii(body)) return undefined;
  // One char per byte. Strings, not the Buffer, from here: each Buffer call crosses into C++, which cost
  // more than the whole read.
  const text = body.toString('latin1');
  const end = text.length;
  // Holes read as undefined: no fill (a C++ call) for keys not given.
  const values = new Array<string | undefined>(keys.names.length);
  let seen = 0;
  let start = 0;
  // The first `%` and `+` at or after the value read last (`end`: none), searched natively and again only
  // once a value starts past them: a value with neither in its range is a plain slice.
  let percent = -1;
  let plus = -1;
  // Brokers send the keys in one order: the key guessed after the last one read is tried first, in place
  // with its `=` (only a guess: any other pair is read as before, and its place learned).
  let after = 0;
  while (start <= end) {
    let stop = text.indexOf('&', start);
    if (stop === -1) stop = end;
    if (stop > start) {
      let i = keys.guess(after);
      let eq: number;
      if (keys.pairAt(text, start, i)) eq = start + (keys.names[i] as string).length;
      else {
        eq = text.indexOf('=', start);
        if (eq === -1 || eq > stop) eq = stop;
        // A known key has no escapes, `+` or non-ASCII: any other key text is not one (nor plain).
        i = keys.indexIn(text, start, eq);
        if (i < 0) return undefined;
        keys.learn(after, i);
      }
      if ((seen & (1 << i)) !== 0) return undefined;
      seen |= 1 << i;
      after = i + 1;
      let value = '';
      if (eq < stop) {
        const from = eq + 1;
        if (percent < from) {
          percent = text.indexOf('%', from);
          if (percent === -1) percent = end;
        }
        if (plus < from) {
          plus = text.indexOf('+', from);
          if (plus === -1) plus = end;
        }
        const first = Math.min(percent, plus);
        // A long value decoded on its own, not cut from the body: a slice would keep it all (see ownString).
        if (first >= stop)
          value = stop - from < SLICE_MIN ? text.slice(from, stop) : body.toString('latin1', from, stop);
        else {
          const decoded = decodedValue(text, from, first, stop);
          if (decoded === undefined) return undefined;
          value = decoded;
        }
      }
      values[i] = value;
      order?.push(i);
    }
    start = stop + 1;
  }
  return values;
}

/**
 * The ASCII value in `text[from, to)`, decoded, whose first `+` or `%` is at `first`; undefined when an
 * escape is not ASCII.
 */
function decodedValue(text: string, from: number, first: number, to: number): string | undefined {
  let out = '';
  let run = from;
  for (let i = first; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === PLUS) {
      out += `${text.slice(run, i)} `;
      run = i + 1;
    } else if (c === PERCENT && i + 2 < to) {
      const hi = hex(text.charCodeAt(i + 1));
      const lo = hex(text.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) continue;
      const byte = (hi << 4) | lo;
      if (byte > 0x7f) return undefined;
      out += text.slice(run, i) + String.fromCharCode(byte);
      i += 2;
      run = i + 1;
    }
  }
  return ownString(run === from ? text.slice(from, to) : out + text.slice(run, to));
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1;
}

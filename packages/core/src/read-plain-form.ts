const PLUS = 0x2b;
const PERCENT = 0x25;
const EQ = 0x3d;

/**
 * The keys a {@link readPlainForm} takes, each with its bit (at most 31 keys), built once per schema.
 *
 * @example
 * ```ts
 * const ACL_KEYS = plainFormKeys(['username', 'clientid', 'topic', 'acc']);
 * ```
 */
export function plainFormKeys(keys: readonly string[]): ReadonlyMap<string, number> {
  if (keys.length > 31) throw new RangeError('at most 31 keys');
  return new Map(keys.map((key, i) => [key, 1 << i]));
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
export function readPlainForm(
  body: Buffer,
  keys: ReadonlyMap<string, number>,
): Record<string, string> | undefined {
  // One char per byte: a byte above 0x7F shows as a char above it. Strings, not the Buffer, from here:
  // each Buffer call crosses into C++, which cost more than the whole read.
  const text = body.toString('latin1');
  const end = text.length;
  const out: Record<string, string> = {};
  let seen = 0;
  let start = 0;
  while (start <= end) {
    let stop = text.indexOf('&', start);
    if (stop === -1) stop = end;
    if (stop > start) {
      let eq = start;
      for (let c = text.charCodeAt(eq); eq < stop && c !== EQ; c = text.charCodeAt(++eq)) {
        if (c === PLUS || c === PERCENT || c > 0x7f) return undefined;
      }
      const key = text.slice(start, eq);
      const bit = keys.get(key);
      if (bit === undefined || (seen & bit) !== 0) return undefined;
      seen |= bit;
      const value = eq === stop ? '' : plainValue(text, eq + 1, stop);
      if (value === undefined) return undefined;
      out[key] = value;
    }
    start = stop + 1;
  }
  return out;
}

/** The value in `text[from, to)`, decoded; undefined when a byte or escape is not ASCII. */
function plainValue(text: string, from: number, to: number): string | undefined {
  let out = '';
  let run = from;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return undefined;
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
  return run === from ? text.slice(from, to) : out + text.slice(run, to);
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1;
}

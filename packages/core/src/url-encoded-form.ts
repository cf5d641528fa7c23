import { ownString } from './own-string.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const lossy = new TextDecoder('utf-8');
const PLUS = 0x2b;
const NON_ASCII = /[\u0080-\uffff]/;
const PERCENT = 0x25;

/**
 * An `application/x-www-form-urlencoded` body or a query string, percent-decoded to **bytes** first and
 * only then read as UTF-8. Generic parsers hand a value whose escapes are not UTF-8 back undecoded
 * (`cmd%2F%FF` stays one level) or turn it into U+FFFD (a binary password no longer matches), so the
 * brokers' adapters read passwords as bytes and refuse other values that are not UTF-8.
 *
 * `+` is a space and a `%` not followed by two hex digits is kept, as in the WHATWG URL standard.
 *
 * @example
 * ```ts
 * const form = UrlEncodedForm.parse('username=dev1&password=%FF%FE%00A&topic=cmd%2F%FF');
 * form.fields.username;           // 'dev1'
 * form.bytes('password');         // <Buffer ff fe 00 41>
 * form.undecodable.has('topic');  // true: not UTF-8, never to be read as text
 * ```
 */
export class UrlEncodedForm {
  /**
   * Every key's value as text (a repeated key: all its values, in order, so a schema can refuse it).
   * A value that is not UTF-8 appears with U+FFFD in place of its bad bytes; see {@link undecodable}.
   * The object has no prototype, so keys such as `__proto__` are plain keys.
   */
  readonly fields: Record<string, string | string[]>;
  /** Keys with at least one value whose bytes are not UTF-8. */
  readonly undecodable: ReadonlySet<string>;
  /** Each key's first value, still percent-encoded (one char per byte). */
  readonly #raw: Map<string, string>;

  private constructor(
    fields: Record<string, string | string[]>,
    undecodable: Set<string>,
    raw: Map<string, string>,
  ) {
    this.fields = fields;
    this.undecodable = undecodable;
    this.#raw = raw;
  }

  /** Parses a form body (as received, bytes or text) or a query string (without the `?`). */
  static parse(input: string | Uint8Array): UrlEncodedForm {
    // One char per byte, so splitting never cuts a raw (unescaped) UTF-8 sequence apart.
    const text = (typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input)).toString(
      'latin1',
    );
    const fields: Record<string, string | string[]> = Object.create(null);
    const undecodable = new Set<string>();
    const raw = new Map<string, string>();
    for (const pair of text.split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const rawKey = eq === -1 ? pair : pair.slice(0, eq);
      const key = decodeText(rawKey) ?? lossy.decode(percentDecode(rawKey));
      const value = eq === -1 ? '' : pair.slice(eq + 1);
      let decoded = decodeText(value);
      if (decoded === undefined) {
        decoded = lossy.decode(percentDecode(value));
        undecodable.add(key);
      }
      const previous = fields[key];
      fields[key] = previous === undefined ? decoded : [previous, decoded].flat();
      if (!raw.has(key)) raw.set(key, value);
    }
    return new UrlEncodedForm(fields, undecodable, raw);
  }

  /** The query string of a request target (`/path?a=1` → the form of `a=1`). */
  static ofUrl(url: string): UrlEncodedForm {
    const mark = url.indexOf('?');
    return UrlEncodedForm.parse(mark === -1 ? '' : url.slice(mark + 1));
  }

  /** The exact bytes of `key`'s first value, whether or not they are UTF-8. */
  bytes(key: string): Buffer | undefined {
    const value = this.#raw.get(key);
    return value === undefined ? undefined : percentDecode(value);
  }
}

/** A percent-encoded part as UTF-8 text, or undefined when its bytes are not UTF-8. */
function decodeText(part: string): string | undefined {
  // Fast path for the usual ASCII part: the engine's decoder, which refuses what is not UTF-8.
  if (!NON_ASCII.test(part)) {
    const spaced = part.includes('+') ? part.replaceAll('+', ' ') : part;
    // Not a slice of the body, which it would keep alive in the session table (see ownString).
    if (!spaced.includes('%')) return ownString(spaced);
    try {
      return decodeURIComponent(spaced);
    } catch {
      // A kept `%` (not an escape) or bytes that are not UTF-8: the byte path below decides.
    }
  }
  try {
    return utf8.decode(percentDecode(part));
  } catch {
    return undefined;
  }
}

function percentDecode(text: string): Buffer {
  const input = Buffer.from(text, 'latin1');
  const out = Buffer.allocUnsafe(input.length);
  let n = 0;
  for (let i = 0; i < input.length; i++) {
    const c = input[i] as number;
    if (c === PLUS) {
      out[n++] = 0x20;
    } else if (c === PERCENT && i + 2 < input.length && isHex(input[i + 1]) && isHex(input[i + 2])) {
      out[n++] = (hexValue(input[i + 1] as number) << 4) | hexValue(input[i + 2] as number);
      i += 2;
    } else {
      out[n++] = c;
    }
  }
  return out.subarray(0, n);
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66));
}

function hexValue(c: number): number {
  return c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const lossy = new TextDecoder('utf-8');
const PLUS = 0x2b;
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
  readonly #bytes: Map<string, Buffer>;

  private constructor(
    fields: Record<string, string | string[]>,
    undecodable: Set<string>,
    bytes: Map<string, Buffer>,
  ) {
    this.fields = fields;
    this.undecodable = undecodable;
    this.#bytes = bytes;
  }

  /** Parses a form body (as received, bytes or text) or a query string (without the `?`). */
  static parse(input: string | Uint8Array): UrlEncodedForm {
    // One char per byte, so splitting never cuts a raw (unescaped) UTF-8 sequence apart.
    const text = (typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input)).toString(
      'latin1',
    );
    const fields: Record<string, string | string[]> = Object.create(null);
    const undecodable = new Set<string>();
    const bytes = new Map<string, Buffer>();
    for (const pair of text.split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const key = lossy.decode(percentDecode(eq === -1 ? pair : pair.slice(0, eq)));
      const value = percentDecode(eq === -1 ? '' : pair.slice(eq + 1));
      let decoded: string;
      try {
        decoded = utf8.decode(value);
      } catch {
        decoded = lossy.decode(value);
        undecodable.add(key);
      }
      const previous = fields[key];
      fields[key] = previous === undefined ? decoded : [previous, decoded].flat();
      if (!bytes.has(key)) bytes.set(key, value);
    }
    return new UrlEncodedForm(fields, undecodable, bytes);
  }

  /** The query string of a request target (`/path?a=1` → the form of `a=1`). */
  static ofUrl(url: string): UrlEncodedForm {
    const mark = url.indexOf('?');
    return UrlEncodedForm.parse(mark === -1 ? '' : url.slice(mark + 1));
  }

  /** The exact bytes of `key`'s first value, whether or not they are UTF-8. */
  bytes(key: string): Buffer | undefined {
    return this.#bytes.get(key);
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

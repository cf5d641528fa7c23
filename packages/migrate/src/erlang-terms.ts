import { MigrationError } from './migration-error.js';

/** Where a term starts in its file (1-based). */
export interface TermPosition {
  readonly line: number;
  readonly column: number;
}

/** An Erlang term as a config file (`file:consult/1`) holds it: no variables, floats, binaries or maps. */
export type ErlangTerm =
  | (TermPosition & { readonly kind: 'atom'; readonly value: string })
  | (TermPosition & { readonly kind: 'string'; readonly value: string })
  | (TermPosition & { readonly kind: 'integer'; readonly value: number })
  | (TermPosition & { readonly kind: 'tuple'; readonly items: readonly ErlangTerm[] })
  | (TermPosition & { readonly kind: 'list'; readonly items: readonly ErlangTerm[] });

/** One top-level term, ended by `.`, with the source text it was read from. */
export interface ErlangForm {
  readonly term: ErlangTerm;
  /** The form's source text (from its first character to its `.`), comments included. */
  readonly text: string;
}

/** A token and its offset in the text. */
type Token = TermPosition & { readonly start: number } & (
    | { readonly type: 'atom' | 'string' | 'punct'; readonly value: string }
    | { readonly type: 'integer'; readonly value: number }
    | { readonly type: 'end' }
  );

const MAX_DEPTH = 64;

/** Erlang's reserved words: bare, they are operators, not atoms (quote them: `'and'`). */
const RESERVED = new Set(
  'after and andalso band begin bnot bor bsl bsr bxor case catch cond div end fun if let not of or orelse receive rem try when xor'.split(
    ' ',
  ),
);

/** `\x` escapes of Erlang strings and quoted atoms. */
const ESCAPES: Readonly<Record<string, string>> = {
  b: '\b',
  d: '\x7f',
  e: '\x1b',
  f: '\f',
  n: '\n',
  r: '\r',
  s: ' ',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
  "'": "'",
};

/**
 * Reads a file of Erlang terms, each ended by `.` (what EMQX's `acl.conf` is): atoms (`allow`,
 * `'and'`), strings with Erlang escapes (adjacent strings concatenated), integers, tuples, lists, and
 * `%` comments. Throws a {@link MigrationError} located at `file:line:column` for anything else.
 *
 * @example
 * ```ts
 * const [form] = parseErlangTerms('{allow, all}.', 'acl.conf');
 * form.term; // { kind: 'tuple', items: [{ kind: 'atom', value: 'allow', … }, …], line: 1, column: 1 }
 * ```
 */
export function parseErlangTerms(text: string, file: string): ErlangForm[] {
  const tokens = tokenize(text, file);
  const forms: ErlangForm[] = [];
  let i = 0;
  const fail = (token: Token, message: string): never => {
    throw new MigrationError(message, { file, line: token.line, column: token.column });
  };
  const describe = (token: Token) =>
    token.type === 'end' ? 'the end of the file' : `"${String(token.value)}"`;

  let depth = 0;
  const term = (): ErlangTerm => {
    const token = tokens[i++]!;
    const at = { line: token.line, column: token.column };
    if (token.type === 'atom') return { kind: 'atom', value: token.value, ...at };
    if (token.type === 'integer') return { kind: 'integer', value: token.value, ...at };
    if (token.type === 'string') {
      let value = token.value;
      // Erlang joins adjacent string literals: "a" "b" is "ab".
      while (tokens[i]!.type === 'string') value += (tokens[i++] as { value: string }).value;
      return { kind: 'string', value, ...at };
    }
    if (token.type === 'punct' && (token.value === '{' || token.value === '[')) {
      // A config term is shallow; a deeper one is refused before it can exhaust the stack.
      if (++depth > MAX_DEPTH) fail(token, `terms nested deeper than ${MAX_DEPTH} levels`);
      const close = token.value === '{' ? '}' : ']';
      const items: ErlangTerm[] = [];
      if (isPunct(tokens[i]!, close)) i++;
      else {
        for (;;) {
          items.push(term());
          const next = tokens[i++]!;
          if (isPunct(next, close)) break;
          if (!isPunct(next, ',')) fail(next, `expected "," or "${close}" but found ${describe(next)}`);
        }
      }
      depth--;
      return { kind: token.value === '{' ? 'tuple' : 'list', items, ...at };
    }
    return fail(token, `expected a term (atom, string, integer, tuple or list) but found ${describe(token)}`);
  };

  while (tokens[i]!.type !== 'end') {
    const first = tokens[i]!;
    const value = term();
    const dot = tokens[i++]!;
    if (!isPunct(dot, '.')) fail(dot, `expected "." after the term but found ${describe(dot)}`);
    forms.push({ term: value, text: text.slice(first.start, dot.start + 1) });
  }
  return forms;
}

function isPunct(token: Token, value: string): boolean {
  return token.type === 'punct' && token.value === value;
}

function tokenize(text: string, file: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  let line = 1;
  let lineStart = 0;
  const here = () => ({ line, column: pos - lineStart + 1 });
  const fail = (message: string, at = here()): never => {
    throw new MigrationError(message, { file, ...at });
  };

  while (pos < text.length) {
    const c = text[pos]!;
    if (c === '\n') {
      pos++;
      line++;
      lineStart = pos;
    } else if (/\s/.test(c)) {
      pos++;
    } else if (c === '%') {
      while (pos < text.length && text[pos] !== '\n') pos++;
    } else if (c === '"' || c === "'") {
      const at = here();
      const start = pos;
      pos++;
      let value = '';
      for (;;) {
        if (pos >= text.length) fail(`unterminated ${c === '"' ? 'string' : 'quoted atom'}`, at);
        const d = text[pos]!;
        if (d === c) break;
        if (d === '\n') {
          line++;
          lineStart = pos + 1;
        }
        if (d !== '\\') {
          value += d;
          pos++;
          continue;
        }
        const escapeAt = here();
        const e = text[pos + 1];
        if (e === undefined) fail('unterminated escape', escapeAt);
        if (/[0-7]/.test(e!)) {
          const digits = /^[0-7]{1,3}/.exec(text.slice(pos + 1))![0];
          value += String.fromCodePoint(Number.parseInt(digits, 8));
          pos += 1 + digits.length;
        } else if (e === 'x') {
          const m = /^x(?:\{([0-9a-fA-F]+)\}|([0-9a-fA-F]{2}))/.exec(text.slice(pos + 1));
          const code = m ? Number.parseInt(m[1] ?? m[2]!, 16) : Number.NaN;
          if (!m || code > 0x10ffff) fail('invalid \\x escape: write \\xHH or \\x{H...}', escapeAt);
          value += String.fromCodePoint(code);
          pos += 1 + m![0].length;
        } else if (e === '^') {
          const ctl = text[pos + 2];
          if (ctl === undefined || !/[@-_a-z?]/i.test(ctl)) fail('invalid \\^ escape', escapeAt);
          value += ctl === '?' ? '\x7f' : String.fromCharCode(ctl!.charCodeAt(0) & 0x1f);
          pos += 3;
        } else if (e === '\n') {
          fail('a backslash at the end of a line is not an Erlang escape', escapeAt);
        } else {
          // Erlang keeps an unknown escaped character as itself (\z is z).
          value += Object.hasOwn(ESCAPES, e!) ? ESCAPES[e!] : e;
          pos += 2;
        }
      }
      pos++;
      tokens.push({ type: c === '"' ? 'string' : 'atom', value, ...at, start });
    } else if (/[a-z]/.test(c)) {
      const at = here();
      const m = /^[a-z][A-Za-z0-9_@]*/.exec(text.slice(pos))!;
      if (RESERVED.has(m[0])) {
        fail(`"${m[0]}" is an Erlang operator, not an atom: write it quoted, '${m[0]}'`, at);
      }
      tokens.push({ type: 'atom', value: m[0], ...at, start: pos });
      pos += m[0].length;
    } else if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(text[pos + 1] ?? ''))) {
      const at = here();
      const m = /^-?[0-9]+(?:_[0-9]+)*/.exec(text.slice(pos))!;
      if (/^[.#eE][0-9]/.test(text.slice(pos + m[0].length))) {
        fail('only integers are supported here (no floats or based integers)', at);
      }
      tokens.push({ type: 'integer', value: Number(m[0].replaceAll('_', '')), ...at, start: pos });
      pos += m[0].length;
    } else if ('{}[],.'.includes(c)) {
      // A dot ends a form only when followed by whitespace, a comment or the end of the file.
      if (c === '.' && pos + 1 < text.length && !/[\s%]/.test(text[pos + 1]!)) {
        fail('"." ends a term and must be followed by a space or a new line');
      }
      tokens.push({ type: 'punct', value: c, ...here(), start: pos });
      pos++;
    } else if (/[A-Z_]/.test(c)) {
      fail(`"${/^[A-Za-z0-9_@]*/.exec(text.slice(pos))![0]}" is an Erlang variable: quote atoms and strings`);
    } else {
      fail(`unexpected character "${c}"`);
    }
  }
  tokens.push({ type: 'end', ...here(), start: pos });
  return tokens;
}

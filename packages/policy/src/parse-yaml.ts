import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { loadYamlFast } from './load-yaml-fast.js';
import { PolicyError, type PolicyIssue } from './policy-error.js';

export type Path = readonly (string | number)[];

/** A value parsed from YAML or JSON and validated, plus a way to find where any part of it was written. */
export interface LocatedValue<T> {
  readonly value: T;
  /** 1-based line and column of the node at `path` (or of its closest written ancestor). */
  locate(path: Path): { line: number; column: number } | undefined;
}

export interface ParseYamlOptions<S extends z.ZodType> {
  readonly schema: S;
  /** File name reported in issues. */
  readonly file?: string;
  /** What the document is, for the error message ("policy", "policy test suite"). */
  readonly what?: string;
  /** Error code of the thrown {@link PolicyError}. Default `ERR_POLICY_INVALID`. */
  readonly code?: string;
}

/**
 * Parses YAML (or JSON, which the same parser reads, with duplicate keys detected) and validates it with
 * a zod schema. Every YAML error and schema issue comes back located at file:line:column in one
 * {@link PolicyError}.
 *
 * @example
 * ```ts
 * const { value, locate } = parseYaml(text, { schema: PolicyDocument, file: 'policy.yaml' });
 * locate(['roles', 'device', 'rules', 0]); // { line: 7, column: 9 }
 * ```
 */
export function parseYaml<S extends z.ZodType>(
  text: string,
  options: ParseYamlOptions<S>,
): LocatedValue<z.output<S>> {
  // Most documents are valid and plain: read them fast; errors and the rest take the `yaml` package's
  // path below, whose messages and positions the tests pin.
  const fast = loadYamlFast(text);
  if (fast) {
    try {
      return { value: validateDocument(fast.value, options), locate: (path) => fast.locate(path) };
    } catch (error) {
      if (!(error instanceof PolicyError)) throw error;
    }
  }
  const { file } = options;
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined) => {
    if (offset === undefined) return undefined;
    const { line, col } = lines.linePos(offset);
    return { line, column: col };
  };
  const fail = (issues: PolicyIssue[]): never => {
    throw new PolicyError(issues, { code: options.code, what: options.what });
  };

  if (doc.errors.length > 0) {
    // After the first syntax errors the parser mostly reports their echoes: show a few.
    fail(
      doc.errors.slice(0, 3).map((error) => ({
        file,
        ...at(error.pos[0]),
        path: [],
        message: yamlMessage(error.code, error.message, lineOf(text, error.pos[0])),
      })),
    );
  }

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    fail([{ file, path: [], message: `cannot read the document: ${(error as Error).message}` }]);
  }

  const locateNode = (path: Path, key = false): Node | undefined => {
    let node: unknown = doc.contents;
    let found = node as Node | undefined;
    for (let i = 0; i < path.length; i++) {
      const segment = path[i];
      if (isMap(node)) {
        const pair = node.items.find(
          (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment),
        );
        if (!pair) break;
        if (key && i === path.length - 1) return pair.key as Node;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        node = node.items[segment];
      } else {
        break;
      }
      if (node && typeof node === 'object' && 'range' in node) found = node as Node;
      else break;
    }
    return found;
  };
  const locate = (path: Path, key = false) => at(locateNode(path, key)?.range?.[0]);

  // `key: #…` or `- #…` leaves an empty (null) value: the rest of the line is a YAML comment.
  const commentHint = (path: Path) => {
    const position = locate(path, true) ?? locate(path);
    const line = position ? (text.split('\n')[position.line - 1] ?? '') : '';
    return /(:|^\s*-)\s+#/.test(line)
      ? '; in YAML, # after a space starts a comment, so the value is empty: quote it, e.g. "#" or "devices/#"'
      : '';
  };
  const value = validateDocument(raw, { ...options, locate: (path, key) => locate(path, key), commentHint });
  return { value, locate: (path) => locate(path) };
}

/**
 * Validates an already parsed value with a zod schema, throwing one {@link PolicyError} with every
 * issue; `locate` (from {@link parseYaml}) adds line and column, otherwise issues carry paths only.
 */
export function validateDocument<S extends z.ZodType>(
  raw: unknown,
  options: ParseYamlOptions<S> & {
    readonly locate?: (path: Path, key?: boolean) => { line: number; column: number } | undefined;
    /** Extra advice for a null value, from the source line (parseYaml: "# starts a comment"). */
    readonly commentHint?: (path: Path) => string;
  },
): z.output<S> {
  const { file } = options;
  const locate = options.locate ?? (() => undefined);
  const reserved = protoKeyPaths(raw);
  if (reserved.length > 0) {
    throw new PolicyError(
      reserved.map((path) => ({
        file,
        ...locate(path, true),
        path,
        message: `"__proto__" cannot be a key (it would replace the object's prototype); rename it`,
      })),
      { code: options.code, what: options.what },
    );
  }
  const result = options.schema.safeParse(raw);
  if (!result.success) {
    const issues: PolicyIssue[] = [];
    const add = (issue: z.core.$ZodIssue, prefix: Path) => {
      const fullPath = [...prefix, ...issue.path.filter((p): p is string | number => typeof p !== 'symbol')];
      const { value: input, depth } = valueAt(raw, fullPath);
      const path = fullPath.slice(
        0,
        depth === fullPath.length || input === undefined ? fullPath.length : depth,
      );
      if (issue.code === 'unrecognized_keys') {
        // strictObject writes one line per key; zod's default message names them all on one line.
        const lines = issue.message.split('\n');
        for (const [index, key] of issue.keys.entries()) {
          const keyPath = [...path, key];
          const message = lines.length === issue.keys.length ? lines[index]! : issue.message;
          issues.push({ file, ...locate(keyPath, true), path: keyPath, message });
        }
        return;
      }
      if (issue.code === 'invalid_union' && input !== undefined && isDefaultMessage(issue.message)) {
        // Report the branch that fits the input ("one value or a list") rather than "no branch matched".
        const inside = issue.errors.filter((branch) => branch.some((i) => i.path.length > 0));
        const branch =
          inside.length === 1 ? inside[0] : issue.errors[Array.isArray(input) ? issue.errors.length - 1 : 0];
        if (branch) {
          for (const inner of branch) add(inner, path);
          return;
        }
      }
      const hint = input === null && options.commentHint ? options.commentHint(path) : '';
      issues.push({ file, ...locate(path), path, message: describe(issue, path, input) + hint });
    };
    for (const issue of result.error.issues) add(issue, []);
    issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
    throw new PolicyError(issues, { code: options.code, what: options.what });
  }
  return result.data as z.output<S>;
}

/**
 * Paths of own `__proto__` keys (YAML and JSON.parse create them as data). zod would assign them
 * to its output, replacing that object's prototype and losing the key: a `when:` condition on it
 * would vanish and match everyone.
 */
function protoKeyPaths(value: unknown): Path[] {
  const found: Path[] = [];
  const path: (string | number)[] = [];
  // YAML aliases can make the value cyclic: visit each object once.
  const seen = new Set<object>();
  const visit = (node: unknown) => {
    if (node === null || typeof node !== 'object' || seen.has(node)) return;
    seen.add(node);
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        path.push(i);
        visit(node[i]);
        path.pop();
      }
      return;
    }
    for (const key in node) {
      if (!Object.hasOwn(node, key)) continue;
      path.push(key);
      if (key === '__proto__') found.push([...path]);
      else visit((node as Record<string, unknown>)[key]);
      path.pop();
    }
  };
  visit(value);
  return found;
}

function yamlMessage(code: string, message: string, line: string): string {
  const text = message.replace(/ at line \d+, column \d+.*$/s, '');
  if (code === 'DUPLICATE_KEY') {
    return `duplicate key: ${text}; each name may appear only once, remove or rename one`;
  }
  // `{`, `#` and `+` are YAML syntax: unquoted topics such as [a/${clientid}/#] are the usual cause.
  const hint = /\$\{|[#+]/.test(line)
    ? '; quote topics that contain ${...}, # or +, e.g. "devices/${clientid}/#"'
    : '';
  return `invalid YAML: ${text}${hint}`;
}

function lineOf(text: string, offset: number): string {
  const start = text.lastIndexOf('\n', offset - 1) + 1;
  const end = text.indexOf('\n', offset);
  return text.slice(start, end === -1 ? undefined : end);
}

function isDefaultMessage(message: string): boolean {
  return /^(Invalid|Too|Expected)/.test(message);
}

/**
 * The input at `path` and how much of the path exists. A single value written where a list is
 * accepted reaches the schema as a list of one: then the path stops at that value.
 */
function valueAt(root: unknown, path: Path): { value: unknown; depth: number } {
  let value = root;
  for (let i = 0; i < path.length; i++) {
    if (value === null || typeof value !== 'object') return { value, depth: i };
    value = (value as Record<string | number, unknown>)[path[i]!];
  }
  return { value, depth: path.length };
}

function describe(issue: z.core.$ZodIssue, path: Path, input: unknown): string {
  const where = path.length > 0 ? `"${path.join('.')}"` : 'the document';
  if (input === undefined && issue.code !== 'custom') return `${where} is required`;
  // Messages written in the schema already say what to write; zod's defaults start with these words.
  if (!isDefaultMessage(issue.message)) {
    return issue.code === 'custom' ? issue.message : `${where}: ${issue.message}`;
  }
  switch (issue.code) {
    case 'invalid_type':
      return `${where} must be ${article(issue.expected)}, not ${kind(input)}`;
    case 'invalid_value':
      return `${where} must be one of: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union':
      return `${where}: ${issue.message === 'Invalid input' ? 'unexpected value' : issue.message}`;
    default:
      return `${where}: ${issue.message}`;
  }
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  // A binary or huge file parses as one long string: quote its start only.
  const chars = [...JSON.stringify(value)];
  return `${typeof value} ${chars.length > 80 ? `${chars.slice(0, 77).join('')}…` : chars.join('')}`;
}

function article(expected: string): string {
  if (expected === 'array') return 'a list';
  if (expected === 'object' || expected === 'record') return 'a mapping';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

import { type EventType, FAILSAFE_SCHEMA, load, type State, Type } from 'js-yaml';

type Path = readonly (string | number)[];

/** A document read by {@link loadYamlFast}, with the source offset of its containers' children. */
export interface FastYaml {
  readonly value: unknown;
  /** 1-based line and column of the node at `path` (its key with `key`), or of its closest located ancestor. */
  locate(path: Path, key?: boolean): { line: number; column: number } | undefined;
}

// YAML 1.2 core schema tag resolution (spec 10.3.2), as the `yaml` package applies it to plain scalars;
// js-yaml's own core schema also reads 0b…, 1_000 and more, which `yaml` keeps as strings.
// One type per tag: js-yaml keeps only the last type of a tag.
const scalar = (tag: string, pattern: RegExp, construct: (data: string) => unknown) =>
  new Type(`tag:yaml.org,2002:${tag}`, {
    kind: 'scalar',
    resolve: (data: string | null) => data !== null && pattern.test(data),
    construct,
  });
const CORE_1_2 = FAILSAFE_SCHEMA.extend({
  implicit: [
    new Type('tag:yaml.org,2002:null', {
      kind: 'scalar',
      resolve: (data: string | null) => data === null || /^(?:~|null|Null|NULL|)$/.test(data),
      construct: () => null,
    }),
    scalar('bool', /^(?:true|True|TRUE|false|False|FALSE)$/, (data) => data[0] === 't' || data[0] === 'T'),
    scalar('int', /^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$/, (data) =>
      data[1] === 'o' ? Number.parseInt(data.slice(2), 8) : Number(data),
    ),
    scalar(
      'float',
      /^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
      (data) => {
        const lower = data.toLowerCase();
        if (lower.endsWith('.nan')) return Number.NaN;
        if (lower.endsWith('.inf')) return data[0] === '-' ? -Infinity : Infinity;
        return Number(data);
      },
    ),
  ],
});

const NULL_WORD = /[~nN]/;

/**
 * An anchor, alias or tag (or text that looks like one), or a directive: shared nodes (and alias bombs)
 * are left to the `yaml` package and its alias limit, tags to its positions, `%YAML 1.1` to its schema.
 */
const SPECIAL = /(?:^|[\s[{,])[&*!][^\s,[\]{}]|^%/m;

/**
 * Reads YAML (or JSON) in one js-yaml pass that records where every node starts, for documents that
 * need nothing special: `undefined` when the text has a byte-order mark, an anchor, alias, tag or
 * directive, or any error (then the caller reads it with the `yaml` package, whose messages and
 * positions are the reference). Several times faster than building the `yaml` package's document,
 * which keeps a node object per value: a 100k-rule policy loads in about two seconds instead of twelve.
 *
 * @example
 * ```ts
 * const fast = loadYamlFast('a:\n  - x\n');
 * fast?.locate(['a', 0]); // { line: 2, column: 5 }
 * ```
 */
export function loadYamlFast(text: string): FastYaml | undefined {
  if (text.charCodeAt(0) === 0xfeff || SPECIAL.test(text)) return undefined;
  // Flat stacks: `opens` holds each open node's start offset and where its children begin in `found`,
  // `found` holds [value, offset] for every closed node whose parent is still open.
  const opens: number[] = [];
  const found: unknown[] = [];
  const children = new Map<object, unknown[]>();
  let root = -1;
  const listener = (event: EventType, state: State) => {
    if (event === 'open') {
      opens.push(state.position, found.length);
      return;
    }
    const mark = opens.pop()!;
    const open = opens.pop()!;
    const result: unknown = state.result;
    // A node read through a nested composeNode closes twice: the inner close has the children.
    if (result !== null && typeof result === 'object' && found.length > mark && !children.has(result)) {
      children.set(result, found.slice(mark));
    }
    found.length = mark;
    // Where the node was opened: its text starts after blanks (see `startOf`), found only when asked.
    found.push(result, open);
    if (opens.length === 0) root = open;
  };
  let value: unknown;
  try {
    value = load(text, { schema: CORE_1_2, listener });
  } catch {
    return undefined;
  }

  let lineStarts: number[] | undefined;
  const position = (offset: number) => {
    if (!lineStarts) {
      lineStarts = [0];
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
    }
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (lineStarts[middle]! <= offset) low = middle;
      else high = middle - 1;
    }
    return { line: low + 1, column: offset - lineStarts[low]! + 1 };
  };

  // Per mapping, key → [key offset, value offset], built on first use.
  const keyed = new Map<object, Map<string, [number, number]>>();
  const pairsOf = (map: object) => {
    let pairs = keyed.get(map);
    if (!pairs) {
      pairs = new Map();
      const list = children.get(map) ?? [];
      // Two closed nodes per written pair; anything else (`{ a }`, a re-read) locates at the mapping.
      if (list.length === Object.keys(map).length * 4) {
        for (let i = 0; i < list.length; i += 4)
          pairs.set(String(list[i]), [list[i + 1] as number, list[i + 3] as number]);
      }
      keyed.set(map, pairs);
    }
    return pairs;
  };

  const locate = (path: Path, key = false) => {
    let node = value;
    let offset = root;
    for (let i = 0; i < path.length; i++) {
      if (node === null || typeof node !== 'object') break;
      const segment = path[i]!;
      let at: number | undefined;
      if (Array.isArray(node)) {
        const list = children.get(node);
        if (typeof segment !== 'number' || !list || list.length !== node.length * 2) break;
        at = list[segment * 2 + 1] as number | undefined;
      } else {
        const pair = pairsOf(node).get(String(segment));
        if (pair && key && i === path.length - 1) return position(startOf(text, pair[0], segment));
        at = pair?.[1];
      }
      if (at === undefined) break;
      offset = at;
      node = (node as Record<string | number, unknown>)[segment];
    }
    return offset === -1 ? undefined : position(startOf(text, offset, node));
  };
  return { value, locate };
}

/**
 * Where a node opened at `offset` starts: after blanks, except an empty value (`key:`), which the
 * `yaml` package places where it would have been written.
 */
function startOf(text: string, offset: number, value: unknown): number {
  const start = skipBlank(text, offset);
  return value === null && !NULL_WORD.test(text[start] ?? '') ? offset : start;
}

/** The first offset at or after `offset` that is not a space, tab, line break or comment. */
function skipBlank(text: string, offset: number): number {
  let i = offset;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
    else if (c === 0x23) {
      const end = text.indexOf('\n', i);
      if (end === -1) return text.length;
      i = end + 1;
    } else return i;
  }
}

import { TopicError } from './topic-error.js';
import { topicFilterProblem } from './validate.js';

/** A topic filter with `${name}` placeholders, compiled once and rendered per principal. */
export interface TopicTemplate {
  readonly source: string;
  /** Placeholder names in order of appearance, e.g. `['clientid']` for `devices/${clientid}/#`. */
  readonly placeholders: readonly string[];
  /** True when the template has no placeholders; `render` then always returns `source`. */
  readonly isStatic: boolean;
  /**
   * Substitutes each placeholder with `values(name)`. Returns `undefined` ("no topic") when a value is
   * missing or unsafe: empty, containing `+`, `#`, `/` or U+0000, or starting with `$` at the start of the
   * topic. An unsafe value can therefore never widen the filter.
   */
  render(values: (name: string) => string | undefined): string | undefined;
}

const PLACEHOLDER = /\$\{([^}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/**
 * Compiles a filter template such as `devices/${clientid}/#`. Throws a {@link TopicError} when a
 * placeholder name is malformed or when the template cannot render to a valid filter.
 *
 * @example
 * ```ts
 * const t = compileTopicTemplate('devices/${clientid}/#');
 * t.render((name) => ({ clientid: 'd1' })[name]); // 'devices/d1/#'
 * t.render((name) => ({ clientid: '#' })[name]);  // undefined: '#' would widen the filter
 * ```
 */
export function compileTopicTemplate(template: string): TopicTemplate {
  const literals: string[] = [];
  const placeholders: string[] = [];
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    const name = m[1]!;
    if (!NAME.test(name)) {
      throw new TopicError(
        `invalid placeholder "\${${name}}" in "${template}": names start with a letter or "_" and contain letters, digits, ".", "-" or "_"`,
      );
    }
    literals.push(template.slice(last, m.index));
    placeholders.push(name);
    last = m.index + m[0].length;
  }
  literals.push(template.slice(last));
  if (literals.some((l) => l.includes('${'))) {
    throw new TopicError(`unterminated placeholder in "${template}": write \${name}`);
  }
  // Check the shape with a harmless value in every placeholder.
  const probe = literals.join('x');
  const problem = topicFilterProblem(probe);
  if (problem) throw new TopicError(`invalid topic template "${template}": ${problem}`);

  if (placeholders.length === 0) {
    return { source: template, placeholders, isStatic: true, render: () => template };
  }
  return {
    source: template,
    placeholders,
    isStatic: false,
    render(values) {
      let out = literals[0]!;
      for (let i = 0; i < placeholders.length; i++) {
        const value = values(placeholders[i]!);
        if (value === undefined || !isSafePlaceholderValue(value, out.length === 0)) return undefined;
        out += value + literals[i + 1]!;
      }
      return out.length * 3 > 65_535 && Buffer.byteLength(out) > 65_535 ? undefined : out;
    },
  };
}

/**
 * Whether a placeholder value is safe to substitute: not empty, no `+`, `#`, `/` or U+0000, well-formed
 * UTF-16, and (at the start of a topic) no leading `$`. It then stays inside its level and cannot turn
 * into a wildcard or a `$` topic. The policy applies the same rule to client-id templates.
 *
 * @example
 * ```ts
 * isSafePlaceholderValue('dev-1'); // true
 * isSafePlaceholderValue('a/b');   // false
 * ```
 */
export function isSafePlaceholderValue(value: string, atTopicStart = false): boolean {
  if (value.length === 0) return false;
  if (atTopicStart && value.charCodeAt(0) === 36) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 43 || c === 35 || c === 47 || c === 0) return false;
  }
  return value.isWellFormed();
}

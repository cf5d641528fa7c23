import type { Principal } from '@mqtt-warden/core';
import { isSafePlaceholderValue } from '@mqtt-warden/topic';
import { isKnownPlaceholder, PLACEHOLDER_HELP, placeholderValue } from './placeholders.js';

/**
 * One client-id template of a `clientIds` rule: literal text, `${placeholder}`s (the principal's proven
 * username, id, certificate fields, claims…) and `*` (any run of characters, possibly empty). A
 * placeholder whose value is missing, empty, or contains `+`, `#`, `/` or U+0000 makes the template
 * match no client id.
 */
export interface ClientIdTemplate {
  readonly source: string;
  /** True when the client id may be used by this principal. */
  matches(principal: Principal, clientId: string): boolean;
  /** The template with the principal's values filled in, for explanations (`?` for an unsafe value). */
  describe(principal: Principal): string;
}

/** Used when neither the principal's roles nor `defaults.clientIds` say otherwise. */
export const DEFAULT_CLIENT_IDS: readonly string[] = ['${username}', '${principal}'];

const PLACEHOLDER = /\$\{([^}]*)\}/g;

/** Why `source` is not a valid client-id template, or undefined when it is. */
export function clientIdTemplateProblem(source: string): string | undefined {
  if (source === '') return 'write a client id, a pattern such as "${username}-*", or "*" for any';
  for (const [, name = ''] of source.matchAll(PLACEHOLDER)) {
    if (name === 'clientid') return '${clientid} would match every client id; name the principal instead';
    if (!isKnownPlaceholder(name)) return `unknown placeholder \${${name}}; ${PLACEHOLDER_HELP}`;
  }
  if (source.replace(PLACEHOLDER, '').includes('${')) return 'unterminated placeholder: write ${name}';
  return undefined;
}

type Part = { readonly literal: string } | { readonly placeholder: string };

/**
 * Compiles a client-id template (validated with {@link clientIdTemplateProblem} first).
 *
 * @example
 * ```ts
 * const t = compileClientIdTemplate('${username}-*');
 * t.matches({ ...principal, username: 'demo' }, 'demo-phone'); // true
 * ```
 */
export function compileClientIdTemplate(source: string): ClientIdTemplate {
  const parts: Part[] = [];
  let last = 0;
  for (const m of source.matchAll(PLACEHOLDER)) {
    parts.push({ literal: source.slice(last, m.index) }, { placeholder: m[1]! });
    last = m.index + m[0].length;
  }
  parts.push({ literal: source.slice(last) });
  // Literals as pattern text, escaped once here rather than at every connect.
  const patterns = parts.map((part) =>
    'literal' in part ? part.literal.split('*').map(escapeRegExp).join('.*') : undefined,
  );
  // Without `*`, a template names exactly one client id: a string comparison, no pattern.
  const exact = parts.every((part) => !('literal' in part) || !part.literal.includes('*'));

  /** The template filled in (as text, or as a pattern source), or undefined when a value is unsafe. */
  const render = (principal: Principal, asPattern: boolean): string | undefined => {
    let out = '';
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if ('literal' in part) {
        out += asPattern ? patterns[i]! : part.literal;
        continue;
      }
      const value = placeholderValue(principal, part.placeholder);
      if (value === undefined || !isSafePlaceholderValue(value)) return undefined;
      out += asPattern ? escapeRegExp(value) : value;
    }
    return out;
  };

  return {
    source,
    matches(principal, clientId) {
      if (exact) return render(principal, false) === clientId;
      const pattern = render(principal, true);
      return pattern !== undefined && new RegExp(`^${pattern}$`, 's').test(clientId);
    },
    describe(principal) {
      return parts
        .map((part) => {
          if ('literal' in part) return part.literal;
          const value = placeholderValue(principal, part.placeholder);
          return value !== undefined && isSafePlaceholderValue(value) ? value : `\${${part.placeholder}}=?`;
        })
        .join('');
    },
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

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

  /** The pattern source for the principal, or undefined when a value is unsafe. */
  const render = (principal: Principal): string | undefined => {
    let out = '';
    for (const part of parts) {
      if ('literal' in part) {
        out += part.literal.split('*').map(escapeRegExp).join('.*');
        continue;
      }
      const value = placeholderValue(principal, part.placeholder);
      if (value === undefined || !isSafePlaceholderValue(value)) return undefined;
      out += escapeRegExp(value);
    }
    return out;
  };

  return {
    source,
    matches(principal, clientId) {
      const pattern = render(principal);
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

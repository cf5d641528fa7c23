import type { Principal } from '@mqtt-warden/core';

/** Placeholder names a topic may use besides the `cert.*`, `claims.*` and `attr.*` families. */
const NAMES = new Set(['username', 'clientid', 'principal']);
const FAMILIES = ['cert.', 'claims.', 'attr.'];

/** What to write instead of an unknown placeholder. */
export const PLACEHOLDER_HELP =
  'use ${username}, ${clientid}, ${principal}, ${cert.<field>}, ${claims.<name>} or ${attr.<name>}';

/**
 * Whether a policy may use `${name}`: `username`, `clientid`, `principal`, or an attribute of the
 * principal: `cert.<field>` and `claims.<name>` (read from the attributes of the same dotted key) and
 * `attr.<name>` (the attribute `<name>`, e.g. one the broker attached).
 */
export function isKnownPlaceholder(name: string): boolean {
  return NAMES.has(name) || FAMILIES.some((f) => name.length > f.length && name.startsWith(f));
}

/**
 * The value of a placeholder for a principal, or undefined when the principal has none, or several
 * (a multi-valued attribute cannot name one topic). Safety (no `+ # /`, not empty) is the template's job.
 */
export function placeholderValue(principal: Principal, name: string): string | undefined {
  if (name === 'username') return principal.username;
  if (name === 'clientid') return principal.clientId;
  if (name === 'principal') return principal.id;
  const key = name.startsWith('attr.') ? name.slice(5) : name;
  const value = principal.attributes[key];
  return typeof value === 'string' ? value : undefined;
}

import type { Principal } from '@mqtt-warden/core';
import { compileNamePatterns } from './name-pattern.js';
import type { MatcherDocument } from './policy-document.js';

/**
 * Compiles a `when:` block (bindings, superusers) into a predicate on principals: every key present
 * must match; a list means any of; a multi-valued attribute matches when one of its values does.
 * An empty block matches every principal.
 */
export function compilePrincipalMatcher(doc: MatcherDocument): (principal: Principal) => boolean {
  const checks: ((p: Principal) => boolean)[] = [];
  const single = (patterns: readonly string[] | undefined, get: (p: Principal) => string | undefined) => {
    if (!patterns) return;
    const test = compileNamePatterns(patterns);
    checks.push((p) => {
      const value = get(p);
      return value !== undefined && test(value);
    });
  };
  if (doc.anonymous !== undefined) {
    const anonymous = doc.anonymous;
    checks.push((p) => (p.username === undefined) === anonymous);
  }
  single(doc.method, (p) => p.method);
  single(doc.username, (p) => p.username);
  single(doc.clientid, (p) => p.clientId);
  single(doc.principal, (p) => p.id);
  if (doc.group) {
    const test = compileNamePatterns(doc.group);
    checks.push((p) => (p.groups ?? []).some(test));
  }
  for (const [key, patterns] of Object.entries(doc.attributes ?? {})) {
    const test = compileNamePatterns(patterns);
    checks.push((p) => {
      // Own keys only: "constructor" or "toString" must not find Object.prototype's members.
      const value = Object.hasOwn(p.attributes, key) ? p.attributes[key] : undefined;
      if (value === undefined) return false;
      return typeof value === 'string' ? test(value) : value.some(test);
    });
  }
  return (principal) => checks.every((check) => check(principal));
}

import { ConfigError } from '@mqtt-warden/core';
import { COMMON_PASSWORDS } from './common-passwords.js';
import type { PasswordRuleFailure } from './errors.js';

/** A character class counted by {@link PasswordRules.minClasses}. */
export type CharacterClass = 'lower' | 'upper' | 'digit' | 'symbol';

/**
 * Rules for passwords the project creates (CLI, admin tools). Defaults follow NIST SP 800-63B:
 * length and a denylist matter; composition rules are off unless asked for.
 */
export interface PasswordRules {
  /** Minimum length in characters (code points). Default 12. */
  readonly minLength?: number;
  /** Maximum length in characters, bounding hashing work. Default 256. */
  readonly maxLength?: number;
  /** How many of lower, upper, digit, symbol must occur. Default 0. */
  readonly minClasses?: number;
  /** Classes that must each occur. Default none. */
  readonly requireClasses?: readonly CharacterClass[];
  /** Extra refused passwords (case-insensitive), added to {@link COMMON_PASSWORDS} unless `commonPasswords` is false. */
  readonly denylist?: Iterable<string>;
  /** Refuse {@link COMMON_PASSWORDS}. Default true. */
  readonly commonPasswords?: boolean;
  /** Days after which a password must be changed; no rotation when absent. */
  readonly maxAgeDays?: number;
}

export type PasswordRulesResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly failures: readonly PasswordRuleFailure[] };

const CLASSES: Record<CharacterClass, RegExp> = {
  lower: /\p{Ll}/u,
  upper: /\p{Lu}/u,
  digit: /\p{Nd}/u,
  symbol: /[^\p{L}\p{Nd}]/u,
};

/**
 * Checks a new password against the rules; also refuses one that contains the username.
 * Failure messages describe the rule, never the password.
 *
 * @example
 * ```ts
 * const result = checkPasswordRules(password, { minLength: 14, minClasses: 3 }, { username: 'dev1' });
 * if (!result.ok) throw new PasswordRuleError(result.failures);
 * ```
 */
export function checkPasswordRules(
  password: string,
  rules: PasswordRules = {},
  context: { readonly username?: string } = {},
): PasswordRulesResult {
  const minLength = rules.minLength ?? 12;
  const maxLength = rules.maxLength ?? 256;
  if (!(minLength >= 1 && maxLength >= minLength)) {
    throw new ConfigError('password rules: need 1 <= minLength <= maxLength');
  }
  const failures: PasswordRuleFailure[] = [];
  const length = [...password].length;
  if (length < minLength) {
    failures.push({ rule: 'minLength', message: `use at least ${minLength} characters (got ${length})` });
  }
  if (length > maxLength) {
    failures.push({ rule: 'maxLength', message: `use at most ${maxLength} characters (got ${length})` });
  }
  const present = (Object.keys(CLASSES) as CharacterClass[]).filter((c) => CLASSES[c].test(password));
  const missing = (rules.requireClasses ?? []).filter((c) => !present.includes(c));
  if (missing.length > 0 || present.length < (rules.minClasses ?? 0)) {
    const need = [
      missing.length > 0 ? `include ${missing.join(', ')} characters` : '',
      present.length < (rules.minClasses ?? 0)
        ? `mix at least ${rules.minClasses} of lowercase, uppercase, digits and symbols`
        : '',
    ].filter(Boolean);
    failures.push({ rule: 'classes', message: need.join(' and ') });
  }
  const lower = password.toLowerCase();
  const denied =
    (rules.commonPasswords !== false && COMMON_PASSWORDS.has(lower)) ||
    [...(rules.denylist ?? [])].some((p) => p.toLowerCase() === lower);
  if (denied) failures.push({ rule: 'denylist', message: 'this password is too common; choose another' });
  const username = context.username?.toLowerCase();
  if (username && username.length >= 3 && lower.includes(username)) {
    failures.push({ rule: 'username', message: 'the password must not contain the username' });
  }
  return failures.length === 0 ? { ok: true } : { ok: false, failures };
}

/**
 * Whether a password set at `changedAt` is past `rules.maxAgeDays` at `now`, with a reason to show
 * the user. A password with no recorded change date (e.g. imported from a Mosquitto password_file)
 * is not considered expired: there is nothing to measure its age from.
 *
 * @example
 * ```ts
 * const age = checkPasswordAge(entry.passwordChangedAt, { maxAgeDays: 90 });
 * if (age.expired) deny(age.reason);
 * ```
 */
export function checkPasswordAge(
  changedAt: Date | undefined,
  rules: Pick<PasswordRules, 'maxAgeDays'>,
  now: number = Date.now(),
): { readonly expired: false } | { readonly expired: true; readonly reason: string } {
  if (rules.maxAgeDays === undefined || changedAt === undefined) return { expired: false };
  const expiresAt = changedAt.getTime() + rules.maxAgeDays * 86_400_000;
  if (now < expiresAt) return { expired: false };
  return {
    expired: true,
    reason: `password expired on ${new Date(expiresAt).toISOString()} (older than ${rules.maxAgeDays} days); set a new one with "mqtt-warden passwd"`,
  };
}

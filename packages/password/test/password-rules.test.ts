import { ConfigError } from '@mqtt-warden/core';
import { describe, expect, it } from 'vitest';
import { COMMON_PASSWORDS, checkPasswordAge, checkPasswordRules, PasswordRuleError } from '../src/index.js';

function failures(
  password: string,
  ...args: Parameters<typeof checkPasswordRules> extends [string, ...infer R] ? R : never
) {
  const result = checkPasswordRules(password, ...args);
  if (result.ok) return [];
  for (const f of result.failures) expect(f.message).not.toContain(password);
  return result.failures.map((f) => f.rule);
}

describe('checkPasswordRules', () => {
  it('accepts a long unusual password with the NIST-style defaults', () => {
    expect(checkPasswordRules('violet kettle runs uphill')).toEqual({ ok: true });
  });

  it('enforces minimum and maximum length in characters, not bytes', () => {
    expect(failures('short-pw')).toEqual(['minLength']);
    expect(failures('ääääääääääää')).toEqual([]); // 12 characters, 24 bytes
    expect(failures('a'.repeat(257) + 'Z')).toEqual(['maxLength']);
    expect(failures('abc', { minLength: 3 })).toEqual([]);
    expect(() => checkPasswordRules('x', { minLength: 10, maxLength: 5 })).toThrow(ConfigError);
  });

  it('character classes: a minimum count and required classes', () => {
    expect(failures('alllowercaseletters', { minClasses: 2 })).toEqual(['classes']);
    expect(failures('lowercase and 123', { minClasses: 3 })).toEqual([]); // lower, digit, symbol (space)
    expect(failures('lowercase and 123', { requireClasses: ['upper'] })).toEqual(['classes']);
    expect(failures('Lowercase and 123', { requireClasses: ['upper', 'digit'] })).toEqual([]);
  });

  it('refuses common passwords case-insensitively, plus a custom denylist', () => {
    expect(COMMON_PASSWORDS.has('password123')).toBe(true);
    expect(failures('PassWord123', { minLength: 8 })).toEqual(['denylist']);
    expect(failures('mosquitto', { minLength: 8 })).toEqual(['denylist']);
    expect(failures('mosquitto', { minLength: 8, commonPasswords: false })).toEqual([]);
    expect(failures('acme-factory-2025', { denylist: ['ACME-Factory-2025'] })).toEqual(['denylist']);
  });

  it('refuses a password containing the username', () => {
    expect(failures('sensor-42-very-secret', {}, { username: 'Sensor-42' })).toEqual(['username']);
    expect(failures('sensor-42-very-secret', {}, { username: 'other' })).toEqual([]);
  });

  it('PasswordRuleError carries the failures and a message without the password', () => {
    const result = checkPasswordRules('hunter2');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const error = new PasswordRuleError(result.failures);
    expect(error.code).toBe('ERR_PASSWORD_RULE');
    expect(error.message).toMatch(/at least 12 characters/);
    expect(error.message).toMatch(/too common/);
    expect(error.message).not.toContain('hunter2');
  });
});

describe('checkPasswordAge', () => {
  const changed = new Date('2025-01-01T00:00:00Z');
  it('expires after maxAgeDays with a reason naming the date and what to do', () => {
    const age = checkPasswordAge(changed, { maxAgeDays: 90 }, Date.parse('2025-04-02T00:00:00Z'));
    expect(age).toEqual({
      expired: true,
      reason: expect.stringMatching(
        /expired on 2025-04-01T00:00:00.000Z \(older than 90 days\).*mqtt-warden passwd/,
      ),
    });
    expect(checkPasswordAge(changed, { maxAgeDays: 90 }, Date.parse('2025-03-31T23:59:59Z'))).toEqual({
      expired: false,
    });
  });

  it('does not expire without a rule or without a recorded change date', () => {
    expect(checkPasswordAge(changed, {}, Date.parse('2030-01-01T00:00:00Z'))).toEqual({ expired: false });
    expect(checkPasswordAge(undefined, { maxAgeDays: 1 })).toEqual({ expired: false });
  });
});

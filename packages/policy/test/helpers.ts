import type { Principal } from '@mqtt-warden/core';
import { parsePolicy } from '@mqtt-warden/policy';

export function principal(overrides: Partial<Principal> = {}): Principal {
  return {
    id: overrides.username ?? overrides.clientId ?? 'p1',
    clientId: 'c1',
    method: 'password',
    roles: [],
    attributes: {},
    ...overrides,
  };
}

/** A policy from YAML lines (joined with newlines). */
export function policy(...lines: string[]) {
  return parsePolicy(lines.join('\n'), { file: 'test.yaml' });
}

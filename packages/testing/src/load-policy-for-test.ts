import { readFileSync } from 'node:fs';
import { type Policy, parsePolicy } from '@mqtt-warden/policy';

/**
 * Loads a policy file synchronously (usable at the top of a test file or in a `describe` block).
 * Throws a `PolicyError` with file:line:column for each mistake.
 *
 * @example
 * ```ts
 * const policy = loadPolicyForTest(new URL('../policy.yaml', import.meta.url).pathname);
 * ```
 */
export function loadPolicyForTest(file: string): Policy {
  return parsePolicy(readFileSync(file, 'utf8'), { file });
}

import type { AccessRequest, Principal } from '@mqtt-warden/core';
import { type Explanation, type Policy, PolicyError, parsePolicy } from '@mqtt-warden/policy';
import type { PolicyVersion } from '@mqtt-warden/registry';
import type { AdminApiIssue } from './admin-api-error.js';

/** Checks a policy document; an empty list means it loads. */
export type ValidatePolicy = (
  text: string,
  format: 'yaml' | 'json',
) => readonly AdminApiIssue[] | Promise<readonly AdminApiIssue[]>;

/** Decides a request against a policy version and explains the decision. */
export type SimulatePolicy = (input: {
  readonly policy: PolicyVersion;
  readonly principal: Principal;
  readonly request: AccessRequest;
}) => Explanation | Promise<Explanation>;

/**
 * Validates with `@mqtt-warden/policy`: every mistake with its line and column. (JSON is YAML, so one
 * parser reads both formats.)
 *
 * @example
 * ```ts
 * validatePolicyText('version: 1\nroles: {}\n', 'yaml'); // [] or [{ path, message, line, column }]
 * ```
 */
export function validatePolicyText(text: string, _format: 'yaml' | 'json'): readonly AdminApiIssue[] {
  try {
    parsePolicy(text, { file: 'policy' });
    return [];
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    return error.issues.map(({ path, message, line, column }) => ({ path, message, line, column }));
  }
}

/**
 * A simulator on `Policy.explain`, keeping the few most recently used versions compiled (versions are
 * immutable, so a cached one never goes stale).
 *
 * @example
 * ```ts
 * const simulate = policySimulator();
 * const explanation = await simulate({ policy: version, principal, request: { action: 'publish', topic: 't' } });
 * ```
 */
export function policySimulator(maxVersions = 4): SimulatePolicy {
  const compiled = new Map<number, Policy>();
  return ({ policy, principal, request }) => {
    let entry = compiled.get(policy.version);
    if (entry) compiled.delete(policy.version);
    entry ??= parsePolicy(policy.text, { file: `policy v${policy.version}` });
    compiled.set(policy.version, entry);
    for (const version of compiled.keys()) {
      if (compiled.size <= maxVersions) break;
      compiled.delete(version);
    }
    return entry.explain(principal, request);
  };
}

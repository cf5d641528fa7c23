import { dirname, resolve } from 'node:path';
import { loadPolicy, parseYaml, readPolicyText, strictObject } from '@mqtt-warden/policy';
import { z } from 'zod';
import { check } from './check.js';
import { WhatSchema } from './what.js';
import { WhoSchema } from './who.js';

export const SuiteSchema = strictObject({
  /** Policy file, relative to the suite file. */
  policy: z.string().min(1),
  cases: z
    .array(
      strictObject({
        name: z.string().min(1),
        who: WhoSchema,
        what: WhatSchema,
        expect: z.enum(['allow', 'deny']),
      }),
    )
    .min(1, 'write at least one case'),
});

export interface CaseResult {
  readonly name: string;
  readonly passed: boolean;
  readonly expected: 'allow' | 'deny';
  readonly actual: 'allow' | 'deny';
  /** The explanation of the decision (verdict, roles, rules with file:line). */
  readonly text: string;
  /** Where the case is written in the suite. */
  readonly line?: number;
  readonly durationMs: number;
}

export interface SuiteResult {
  readonly file: string;
  readonly policyFile: string;
  readonly cases: readonly CaseResult[];
  readonly passed: number;
  readonly failed: number;
  readonly durationMs: number;
}

/**
 * Runs a policy test suite (YAML: `policy:` path relative to the suite, then `cases:` of `name`, `who`,
 * `what`, `expect: allow|deny`). Throws a `PolicyError` (code `ERR_SUITE_INVALID` for the suite,
 * `ERR_POLICY_INVALID` for its policy) when either cannot be loaded.
 *
 * @example
 * ```ts
 * const result = await runSuite('policies/fleet.test.yaml');
 * if (result.failed > 0) for (const c of result.cases) if (!c.passed) console.log(c.name, c.text);
 * ```
 */
export async function runSuite(file: string): Promise<SuiteResult> {
  const started = performance.now();
  const { value: suite, locate } = parseYaml(await readPolicyText(file, 'policy test suite'), {
    schema: SuiteSchema,
    file,
    what: 'policy test suite',
    code: 'ERR_SUITE_INVALID',
  });
  const policyFile = resolve(dirname(file), suite.policy);
  const policy = await loadPolicy(policyFile);
  const cases = suite.cases.map((testCase, index): CaseResult => {
    const start = performance.now();
    const result = check(policy, testCase.who, testCase.what);
    const actual = result.allowed ? 'allow' : 'deny';
    return {
      name: testCase.name,
      passed: actual === testCase.expect,
      expected: testCase.expect,
      actual,
      text: result.text,
      line: locate(['cases', index])?.line,
      durationMs: performance.now() - start,
    };
  });
  const passed = cases.filter((c) => c.passed).length;
  return {
    file,
    policyFile,
    cases,
    passed,
    failed: cases.length - passed,
    durationMs: performance.now() - started,
  };
}

export { expectAllowed, expectDenied } from './assertions.js';
export { type CheckResult, check, type PolicyLike } from './check.js';
export { checkArguments } from './check-arguments.js';
export { type BrokenSuite, junitXml } from './junit-xml.js';
export { loadPolicyForTest } from './load-policy-for-test.js';
export { type CaseResult, runSuite, type SuiteResult, SuiteSchema } from './run-suite.js';
export { describeWhat, toRequest, type What, WhatSchema } from './what.js';
export { toPrincipal, type Who, WhoSchema } from './who.js';

export { compileAddressList } from './address-list.js';
export {
  type ExplainedRule,
  type Explanation,
  formatExplanation,
  type RuleRelation,
} from './explanation.js';
export { compileNamePattern, compileNamePatterns } from './name-pattern.js';
export {
  type LocatedValue,
  type ParseYamlOptions,
  type Path,
  parseYaml,
  validateDocument,
} from './parse-yaml.js';
export { isKnownPlaceholder, PLACEHOLDER_HELP } from './placeholders.js';
export { compilePolicy, loadPolicy, Policy, type PolicyOptions, parsePolicy } from './policy.js';
export {
  type MatcherDocument,
  type PolicyDocument,
  PolicyDocumentSchema,
  type PolicyRuleDocument,
} from './policy-document.js';
export { formatIssue, PolicyError, type PolicyIssue } from './policy-error.js';
export { readPolicyText } from './read-policy-text.js';
export { closest, strictObject } from './strict-object.js';
export { PolicyWatcher, type WatchPolicyOptions, watchPolicy } from './watch-policy.js';

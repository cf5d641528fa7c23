import { topicFilterProblem } from '@mqtt-warden/topic';

/**
 * Why `topic` cannot be used as a topic filter in a token-derived rule, or undefined when it can.
 * Only the `${clientid}` and `${username}` placeholders are allowed (the policy renders them);
 * anything else in `${…}` would be kept literally or rendered differently, so it is refused.
 *
 * @example
 * ```ts
 * ruleTopicProblem('devices/${clientid}/#'); // undefined
 * ruleTopicProblem('devices/${client_attrs.site}/#'); // 'placeholder "${client_attrs.site}" is not supported…'
 * ```
 */
export function ruleTopicProblem(topic: string): string | undefined {
  for (const match of topic.matchAll(/\$\{([^}]*)\}/g)) {
    if (match[1] !== 'clientid' && match[1] !== 'username') {
      return `placeholder "${match[0]}" is not supported; use \${clientid} or \${username}`;
    }
  }
  if (/\$\{(?![^}]*\})/.test(topic)) return 'unterminated placeholder in topic';
  const problem = topicFilterProblem(topic);
  return problem && `invalid topic filter: ${problem}`;
}

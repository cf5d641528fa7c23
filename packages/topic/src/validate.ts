import { TopicError } from './topic-error.js';

/** MQTT strings are length-prefixed with two bytes (MQTT 3.1.1 §1.5.3, 5.0 §1.5.4). */
const MAX_BYTES = 65_535;
const PLUS = 43;
const HASH = 35;
const SLASH = 47;

/** The reason a topic name is invalid, or undefined when it is valid. */
export function topicNameProblem(name: string): string | undefined {
  if (typeof name !== 'string') return 'a topic name must be a string';
  if (name.length === 0) return 'a topic name must not be empty';
  const common = stringProblem(name);
  if (common) return common;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === PLUS || c === HASH) {
      return `a topic name must not contain the wildcard "${name[i]}" (at index ${i}); wildcards belong in subscription filters`;
    }
  }
  return undefined;
}

/**
 * The reason a subscription filter (plain, `$share/{group}/…` or `$queue/…`) is invalid, or undefined.
 * The filter of a shared subscription must be non-empty and not itself shared.
 */
export function topicFilterProblem(filter: string): string | undefined {
  if (typeof filter !== 'string') return 'a topic filter must be a string';
  if (filter.length === 0) return 'a topic filter must not be empty';
  const common = stringProblem(filter);
  if (common) return common;
  if (filter.startsWith('$share/') || filter === '$share') {
    const rest = filter.slice(7);
    const slash = rest.indexOf('/');
    const group = slash === -1 ? rest : rest.slice(0, slash);
    if (group.length === 0)
      return 'a shared subscription "$share/{group}/{filter}" needs a non-empty group name';
    if (group.includes('+') || group.includes('#')) {
      return `the shared subscription group "${group}" must not contain "+" or "#"`;
    }
    if (slash === -1 || slash === rest.length - 1) {
      return 'a shared subscription "$share/{group}/{filter}" needs a non-empty filter after the group';
    }
    return sharedFilterProblem(rest.slice(slash + 1));
  }
  if (filter.startsWith('$queue/')) {
    // EMQX's alias of `$share/$queue/{filter}`.
    if (filter.length === 7) return 'a shared subscription "$queue/{filter}" needs a non-empty filter';
    return sharedFilterProblem(filter.slice(7));
  }
  return plainFilterProblem(filter);
}

/** The filter of a shared subscription may not itself be shared (EMQX refuses nested prefixes). */
function sharedFilterProblem(filter: string): string | undefined {
  if (filter.startsWith('$share/') || filter.startsWith('$queue/')) {
    return `a shared subscription must not be nested: the filter after the group starts with "${filter.slice(0, 7)}"`;
  }
  return plainFilterProblem(filter);
}

function plainFilterProblem(filter: string): string | undefined {
  let levelStart = 0;
  for (let i = 0; i < filter.length; i++) {
    const c = filter.charCodeAt(i);
    if (c === SLASH) {
      levelStart = i + 1;
    } else if (c === PLUS) {
      const next = filter.charCodeAt(i + 1);
      if (i !== levelStart || (i + 1 < filter.length && next !== SLASH)) {
        return `"+" must occupy a whole level (at index ${i}); write ".../+/..." rather than mixing it with text`;
      }
    } else if (c === HASH) {
      if (i !== levelStart) return `"#" must occupy a whole level (at index ${i}); write ".../#"`;
      if (i !== filter.length - 1) return `"#" must be the last level of a filter (at index ${i})`;
    }
  }
  return undefined;
}

function stringProblem(s: string): string | undefined {
  if (s.includes('\u0000')) return 'a topic must not contain the null character U+0000';
  // A JS string with a lone surrogate has no UTF-8 form; MQTT requires well-formed UTF-8.
  if (!s.isWellFormed()) return 'a topic must be well-formed Unicode (it contains a lone surrogate)';
  if (s.length * 3 > MAX_BYTES && Buffer.byteLength(s, 'utf8') > MAX_BYTES) {
    return `a topic must be at most ${MAX_BYTES} bytes in UTF-8`;
  }
  return undefined;
}

/**
 * Throws a {@link TopicError} if `name` is not a valid PUBLISH topic name.
 *
 * @example
 * ```ts
 * validateTopicName('devices/d1/telemetry'); // ok
 * validateTopicName('devices/+/telemetry');  // throws TopicError (ERR_TOPIC_INVALID)
 * ```
 */
export function validateTopicName(name: string): void {
  const problem = topicNameProblem(name);
  if (problem) throw new TopicError(problem);
}

/**
 * Throws a {@link TopicError} if `filter` is not a valid subscription filter. Accepts
 * `$share/{group}/{filter}` (the group must be non-empty, without wildcards or `/`).
 *
 * @example
 * ```ts
 * validateTopicFilter('sport/+/player1/#'); // ok
 * validateTopicFilter('sport/tennis#');     // throws: "#" must occupy a whole level
 * ```
 */
export function validateTopicFilter(filter: string): void {
  const problem = topicFilterProblem(filter);
  if (problem) throw new TopicError(problem);
}

/** Boolean form of {@link validateTopicName}. */
export function isValidTopicName(name: string): boolean {
  return topicNameProblem(name) === undefined;
}

/** Boolean form of {@link validateTopicFilter}. */
export function isValidTopicFilter(filter: string): boolean {
  return topicFilterProblem(filter) === undefined;
}

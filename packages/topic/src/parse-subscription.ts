import { TopicError } from './topic-error.js';
import { topicFilterProblem } from './validate.js';

export interface Subscription {
  /** The filter that selects topics, without the shared-subscription prefix. */
  readonly filter: string;
  /** `{group}` of `$share/{group}/…`, or `$queue` for EMQX's `$queue/…`; absent for a plain subscription. */
  readonly shareGroup?: string;
}

/**
 * Splits a SUBSCRIBE filter into the topic filter and its shared-subscription group.
 * Throws a {@link TopicError} exactly when {@link topicFilterProblem} finds the filter invalid.
 *
 * @example
 * ```ts
 * parseSubscription('$share/workers/jobs/#'); // { filter: 'jobs/#', shareGroup: 'workers' }
 * parseSubscription('$queue/jobs/#');         // { filter: 'jobs/#', shareGroup: '$queue' }
 * parseSubscription('jobs/#');                // { filter: 'jobs/#' }
 * ```
 */
export function parseSubscription(filter: string): Subscription {
  const problem = topicFilterProblem(filter);
  if (problem) throw new TopicError(problem);
  if (filter.startsWith('$share/')) {
    const slash = filter.indexOf('/', 7);
    return { filter: filter.slice(slash + 1), shareGroup: filter.slice(7, slash) };
  }
  if (filter.startsWith('$queue/')) return { filter: filter.slice(7), shareGroup: '$queue' };
  return { filter };
}

/** Validates `filter` and returns it without any `$share/{group}/` or `$queue/` prefix. */
export function plainFilter(filter: string): string {
  return parseSubscription(filter).filter;
}

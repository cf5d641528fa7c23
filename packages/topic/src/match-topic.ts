import { plainFilter } from './parse-subscription.js';
import { TopicError } from './topic-error.js';
import { topicNameProblem } from './validate.js';

const PLUS = 43;
const HASH = 35;
const SLASH = 47;
const DOLLAR = 36;

/**
 * True iff the topic name `topic` matches the subscription filter `filter` (MQTT 3.1.1/5.0 §4.7):
 * `+` matches exactly one level, including an empty one; `a/#` also matches `a`; a topic starting with `$`
 * is not matched by a filter whose first level is a wildcard. A `$share/{group}/` prefix is ignored.
 * Throws a {@link TopicError} if either argument is invalid.
 *
 * @example
 * ```ts
 * matchTopic('sport/#', 'sport');      // true
 * matchTopic('+/+', '/finance');       // true
 * matchTopic('#', '$SYS/broker/load'); // false
 * ```
 */
export function matchTopic(filter: string, topic: string): boolean {
  const plain = plainFilter(filter);
  const problem = topicNameProblem(topic);
  if (problem) throw new TopicError(problem);
  return matchValid(plain, topic);
}

/** {@link matchTopic} for arguments already known to be a valid plain filter and a valid name. */
export function matchValid(filter: string, topic: string): boolean {
  const first = filter.charCodeAt(0);
  if (topic.charCodeAt(0) === DOLLAR && (first === PLUS || first === HASH)) return false;
  const fl = filter.length;
  const tl = topic.length;
  let fi = 0;
  let ti = 0;
  for (;;) {
    // Both indexes are at the start of a level.
    const c = filter.charCodeAt(fi);
    if (c === HASH) return true;
    if (c === PLUS) {
      fi++;
      while (ti < tl && topic.charCodeAt(ti) !== SLASH) ti++;
    } else {
      while (fi < fl) {
        const fc = filter.charCodeAt(fi);
        if (fc === SLASH) break;
        if (ti >= tl || topic.charCodeAt(ti) !== fc) return false;
        fi++;
        ti++;
      }
      if (ti < tl && topic.charCodeAt(ti) !== SLASH) return false;
    }
    // Both indexes are at the end of a level: a '/' or the end of the string.
    const filterDone = fi >= fl;
    const topicDone = ti >= tl;
    if (filterDone) return topicDone;
    if (topicDone) return fl - fi === 2 && filter.charCodeAt(fi + 1) === HASH; // "a/#" matches "a"
    fi++;
    ti++;
  }
}

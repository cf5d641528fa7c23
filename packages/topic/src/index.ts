export { coversLevels, filterCovers, filtersOverlap, overlapLevels } from './filter-relations.js';
export { matchTopic, matchValid } from './match-topic.js';
export { parseSubscription, plainFilter, type Subscription } from './parse-subscription.js';
export { TopicError } from './topic-error.js';
export { TopicIndex } from './topic-index.js';
export { compileTopicTemplate, isSafePlaceholderValue, type TopicTemplate } from './topic-template.js';
export {
  isValidTopicFilter,
  isValidTopicName,
  topicFilterProblem,
  topicNameProblem,
  validateTopicFilter,
  validateTopicName,
} from './validate.js';

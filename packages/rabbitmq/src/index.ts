export { checkResource, checkTopic, checkUser, checkVhost } from './rabbitmq-checks.js';
export { createRabbitMqCore, type RabbitMqCore, type RabbitMqInput } from './rabbitmq-core.js';
export {
  type RabbitMqDecisionEvent,
  type RabbitMqPluginOptions,
  type RabbitMqResult,
  rabbitMqPlugin,
} from './rabbitmq-plugin.js';
export {
  resourceSchema,
  routingKeyToTopic,
  topicSchema,
  userSchema,
  vhostSchema,
} from './rabbitmq-request.js';

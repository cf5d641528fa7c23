export {
  type RabbitMqDecisionEvent,
  type RabbitMqPluginOptions,
  type RabbitMqResult,
  rabbitMqPlugin,
} from './rabbitmq-plugin.js';
export { routingKeyToTopic } from './rabbitmq-request.js';

export type { BrokerConnector, DeviceSessions } from './broker-connector.js';
export { ConnectorError, type ConnectorErrorCode } from './connector-error.js';
export { createEmqxConnector, type EmqxConnectorOptions } from './emqx-connector.js';
export {
  type ConnectorFeed,
  type ConnectorLogger,
  type FollowChangesOptions,
  followChanges,
} from './follow-changes.js';
export { createRabbitMqConnector, type RabbitMqConnectorOptions } from './rabbitmq-connector.js';
export { RetryQueue, type RetryQueueOptions, type RetryQueueStats } from './retry-queue.js';

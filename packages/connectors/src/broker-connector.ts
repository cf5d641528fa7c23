/** How a broker knows a device's connections: the username it logged in with and the client ids it may use. */
export interface DeviceSessions {
  readonly username: string;
  readonly clientIds: readonly string[];
}

/**
 * Tells one broker about a registry change. Each method resolves once the broker confirmed (a connection
 * that is already gone counts as closed) and rejects with a `ConnectorError` otherwise, so it can be retried.
 */
export interface BrokerConnector {
  /** Short name for logs and metrics: `rabbitmq`, `emqx`. */
  readonly name: string;
  /** Closes every connection of the device (revoked, disabled, deleted, expired). */
  disconnect(device: DeviceSessions): Promise<void>;
  /** Makes the broker forget the permissions it cached for the device (its roles or attributes changed). */
  refresh(device: DeviceSessions): Promise<void>;
  /** Makes the broker forget every client's cached permissions (a new policy became active). */
  refreshAll(): Promise<void>;
}

import type { BrokerConnector, DeviceSessions } from './broker-connector.js';
import { basicAuthorization, ManagementApi } from './management-api.js';

export interface RabbitMqConnectorOptions {
  /** The management plugin's listener, e.g. `http://127.0.0.1:15672/`. */
  readonly url: string | URL;
  /** A management user allowed to see and close other users' connections (tag `administrator`). */
  readonly username: string;
  /** That user's password. Never logged. */
  readonly password: string;
  /** Sent as `X-Reason`; RabbitMQ logs it with the closed connection. */
  readonly reason?: string;
  /** Per-request timeout in ms. Default 5,000. */
  readonly timeoutMs?: number;
}

/**
 * RabbitMQ's management API (`rabbitmq_management`): `disconnect` closes every connection of the
 * device's user, in every vhost (`DELETE /api/connections/username/{username}` with `X-Reason`).
 * RabbitMQ caches permission checks per connection and has no API to drop them, so `refresh` closes
 * the connections too: the device reconnects under its new permissions. `refreshAll` does nothing (a
 * policy change reaches RabbitMQ's connections at their next login).
 *
 * @example
 * ```ts
 * const rabbit = createRabbitMqConnector({ url: 'http://127.0.0.1:15672/', username: 'warden', password: process.env.RABBIT_PASSWORD ?? '' });
 * await rabbit.disconnect({ username: 'sensor-1', clientIds: ['sensor-1'] });
 * ```
 */
export function createRabbitMqConnector(options: RabbitMqConnectorOptions): BrokerConnector {
  const api = new ManagementApi({
    url: options.url,
    authorization: basicAuthorization(options.username, options.password),
    timeoutMs: options.timeoutMs,
  });
  const reason = options.reason ?? 'mqtt-warden: credentials revoked or changed';

  async function disconnect(device: DeviceSessions): Promise<void> {
    // Answered from RabbitMQ's connection tracking, so a connection made a moment ago is closed too
    // (a DELETE by connection name looks in the statistics database, which lags up to 5 s: 404).
    await api.request('DELETE', `api/connections/username/${encodeURIComponent(device.username)}`, [204], {
      'x-reason': reason,
    });
  }

  return { name: 'rabbitmq', disconnect, refresh: disconnect, async refreshAll() {} };
}

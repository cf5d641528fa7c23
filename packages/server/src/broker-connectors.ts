import {
  type BrokerConnector,
  type ConnectorFeed,
  type ConnectorLogger,
  createEmqxConnector,
  createRabbitMqConnector,
  followChanges,
} from '@mqtt-warden/connectors';
import type { RegistryStore } from '@mqtt-warden/registry';
import { Gauge, type Registry } from 'prom-client';
import type { ServerConfig } from './server-config.js';

/**
 * Starts the `connectors:` of the config on the registry's change feed: each revocation is passed to
 * the brokers' management APIs in the background. Its jobs (reading what a change means, then one per
 * broker call) are counted in `mqtt_warden_connector_jobs` (by result) when a metrics registry is given.
 * Undefined when no connector is configured.
 *
 * @example
 * ```ts
 * const feed = await startBrokerConnectors(config.connectors, store, app.log, metrics.registry);
 * ```
 */
export async function startBrokerConnectors(
  config: ServerConfig['connectors'],
  store: Pick<RegistryStore, 'getDevice' | 'listCredentials' | 'onChange'>,
  log: ConnectorLogger,
  registry?: Registry,
): Promise<ConnectorFeed | undefined> {
  const connectors: BrokerConnector[] = [];
  if (config?.rabbitmq) {
    const { url, username, password } = config.rabbitmq;
    connectors.push(createRabbitMqConnector({ url, username, password: await password.reveal() }));
  }
  if (config?.emqx) {
    const { url, apiKey, apiSecret } = config.emqx;
    connectors.push(createEmqxConnector({ url, apiKey, apiSecret: await apiSecret.reveal() }));
  }
  if (connectors.length === 0) return undefined;
  const feed = followChanges(store, { connectors, log });
  if (registry) {
    new Gauge({
      name: 'mqtt_warden_connector_jobs',
      help: 'Broker connector jobs since start (reading a change, calling a broker API), by result: succeeded, failed (attempts), gave_up, dropped, pending.',
      labelNames: ['result'] as const,
      registers: [registry],
      collect() {
        const { succeeded, failed, gaveUp, dropped, pending } = feed.stats;
        this.set({ result: 'succeeded' }, succeeded);
        this.set({ result: 'failed' }, failed);
        this.set({ result: 'gave_up' }, gaveUp);
        this.set({ result: 'dropped' }, dropped);
        this.set({ result: 'pending' }, pending);
      },
    });
  }
  return feed;
}

import type { BrokerConnector, DeviceSessions } from './broker-connector.js';
import { basicAuthorization, ManagementApi } from './management-api.js';

export interface EmqxConnectorOptions {
  /** The EMQX dashboard/API listener, e.g. `http://127.0.0.1:18083/`. */
  readonly url: string | URL;
  /** An API key created in EMQX (System → API Key); it is the Basic-auth user name. */
  readonly apiKey: string;
  /** The API key's secret; the Basic-auth password. Never logged. */
  readonly apiSecret: string;
  /** Per-request timeout in ms. Default 5,000. */
  readonly timeoutMs?: number;
}

/**
 * EMQX 5's REST API (`/api/v5`, API key and secret as Basic auth): `disconnect` kicks each of the device's
 * client ids (`DELETE /api/v5/clients/{clientid}`), `refresh` cleans their authorization caches
 * (`DELETE /api/v5/clients/{clientid}/authorization/cache`), `refreshAll` every client's
 * (`DELETE /api/v5/authorization/cache`). A client that is not connected (404) needs nothing.
 *
 * @example
 * ```ts
 * const emqx = createEmqxConnector({ url: 'http://127.0.0.1:18083/', apiKey: 'warden', apiSecret: process.env.EMQX_API_SECRET ?? '' });
 * await emqx.disconnect({ username: 'sensor-1', clientIds: ['sensor-1'] });
 * ```
 */
export function createEmqxConnector(options: EmqxConnectorOptions): BrokerConnector {
  const api = new ManagementApi({
    url: options.url,
    authorization: basicAuthorization(options.apiKey, options.apiSecret),
    timeoutMs: options.timeoutMs,
  });
  async function each(device: DeviceSessions, suffix: string): Promise<void> {
    for (const clientId of device.clientIds) {
      await api.request('DELETE', `api/v5/clients/${encodeURIComponent(clientId)}${suffix}`, [204, 404]);
    }
  }
  return {
    name: 'emqx',
    disconnect: (device) => each(device, ''),
    refresh: (device) => each(device, '/authorization/cache'),
    async refreshAll() {
      await api.request('DELETE', 'api/v5/authorization/cache', [204]);
    },
  };
}

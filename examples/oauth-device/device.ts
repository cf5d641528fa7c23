// A device that authenticates to an MQTT broker with OAuth 2.0 client credentials: it presents its
// access token as the MQTT password and reconnects with a fresh token shortly before the old one
// expires, so the broker (which disconnects or denies at `exp`) never sees a stale token.
import type { ClientCredentials } from '@mqtt-warden/oauth';
import mqtt, { type MqttClient } from 'mqtt';

export interface DeviceOptions {
  readonly brokerUrl: string;
  readonly clientId: string;
  readonly credentials: ClientCredentials;
  /** Reconnect this long before the token expires. Default 30 s. */
  readonly refreshBeforeMs?: number;
}

export interface Device {
  readonly client: MqttClient;
  /** Stops refreshing and disconnects. */
  stop(): Promise<void>;
}

// CONNACK codes meaning "your credentials are no good" (MQTT 3.1.1: 4, 5; MQTT 5: 0x86, 0x87).
const REFUSED = new Set([4, 5, 0x86, 0x87]);

export async function connectDevice(options: DeviceOptions): Promise<Device> {
  const { credentials, clientId } = options;
  const refreshBeforeMs = options.refreshBeforeMs ?? 30_000;
  const token = await credentials.getToken();
  const client = mqtt.connect(options.brokerUrl, {
    clientId,
    username: clientId,
    password: token.value,
    reconnectPeriod: 500,
  });
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const schedule = (expiresAt: number) => {
    clearTimeout(timer);
    timer = setTimeout(refresh, Math.max(0, expiresAt - refreshBeforeMs - Date.now()));
  };

  async function refresh() {
    if (stopped) return;
    try {
      const next = await credentials.getToken();
      client.options.password = next.value;
      // A clean DISCONNECT, then CONNECT again with the new password.
      client.end(false, {}, () => {
        if (!stopped) client.reconnect();
      });
      schedule(next.expiresAt);
    } catch {
      // The authorization server is unreachable: try again soon; the current session lives on until exp.
      timer = setTimeout(refresh, 1_000);
    }
  }

  // If the broker refuses the token (revoked, or it expired while offline), fetch a new one for the
  // next automatic reconnect.
  client.on('error', (error) => {
    const code = (error as { code?: number }).code;
    if (code === undefined || !REFUSED.has(code)) return;
    credentials.invalidate();
    credentials.getToken().then(
      (next) => {
        client.options.password = next.value;
        schedule(next.expiresAt);
      },
      () => {},
    );
  });

  schedule(token.expiresAt);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });

  return {
    client,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await client.endAsync();
    },
  };
}

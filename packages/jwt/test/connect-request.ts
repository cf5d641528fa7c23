import type { ConnectRequest } from '@mqtt-warden/core';

/** A CONNECT carrying `token` as the MQTT password. */
export function withPassword(
  token: string,
  extra: { clientId?: string; username?: string } = {},
): ConnectRequest {
  return {
    clientId: extra.clientId ?? 'device-42',
    username: extra.username,
    password: new TextEncoder().encode(token),
    transport: { tls: true, remoteAddress: '127.0.0.1' },
  };
}

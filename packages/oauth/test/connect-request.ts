import type { ConnectRequest } from '@mqtt-warden/core';

export function withPassword(token: string, clientId = 'sensor-1'): ConnectRequest {
  return { clientId, password: new TextEncoder().encode(token), transport: { tls: true } };
}

import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { attachGuard } from '@mqtt-warden/aedes';
import { createGuard } from '@mqtt-warden/core';
import {
  createClientCredentials,
  createJwtAccessTokenVerifier,
  createOAuthAuthenticator,
} from '@mqtt-warden/oauth';
import { parsePolicy } from '@mqtt-warden/policy';
import { Aedes } from 'aedes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthorizationServer,
  CLIENTS,
  JWT_RESOURCE,
} from '../../packages/oauth/test/authorization-server.js';
import { connectDevice } from './device.js';

// Tokens live 4 s and the device renews 2.5 s before expiry, so a reconnect happens within the test.
const TTL_SECONDS = 4;

describe('examples/oauth-device: MQTT.js device with client-credentials tokens on Aedes', () => {
  const as = new AuthorizationServer(TTL_SECONDS);
  let broker: Aedes;
  let server: ReturnType<typeof createServer>;
  let brokerUrl = '';
  const tokensSeen: string[] = [];

  beforeAll(async () => {
    await as.start();
    const oauth = createOAuthAuthenticator({
      jwt: createJwtAccessTokenVerifier({
        keys: { jwksUrl: as.jwksUri },
        issuer: as.issuer,
        audience: JWT_RESOURCE,
      }),
      bind: { claim: 'client_id', to: 'clientId' },
    });
    const guard = createGuard({
      authenticators: [
        {
          name: 'oauth',
          async authenticate(request) {
            if (request.password) tokensSeen.push(new TextDecoder().decode(request.password));
            return oauth.authenticate(request);
          },
        },
      ],
      // No roles: the token's scopes are the device's only permissions.
      authorizer: parsePolicy('version: 1\nroles: {}\n'),
    });
    broker = await Aedes.createBroker();
    attachGuard(broker, guard);
    server = createServer(broker.handle);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    brokerUrl = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()));
    server?.close();
    await as.stop();
  });

  it('connects with its token, publishes within its scopes, and reconnects with a fresh token before expiry', async () => {
    const credentials = createClientCredentials({
      tokenEndpoint: as.tokenEndpoint,
      clientId: CLIENTS.basic.id,
      clientSecret: CLIENTS.basic.secret,
      scope: 'mqtt:publish:sensors/${clientid}/temp mqtt:read:commands/${clientid}/#',
      resource: JWT_RESOURCE,
      refreshBeforeMs: 2_500,
    });
    const device = await connectDevice({
      brokerUrl,
      clientId: 'sensor-1',
      credentials,
      refreshBeforeMs: 2_500,
    });
    try {
      const connects: number[] = [];
      device.client.on('connect', () => connects.push(Date.now()));

      const received = new Promise<string>((resolve) =>
        device.client.once('message', (topic, payload) => resolve(`${topic}=${payload}`)),
      );
      const granted = await device.client.subscribeAsync('commands/sensor-1/#', { qos: 1 });
      expect(granted[0]?.qos).toBe(1);
      await device.client.publishAsync('sensors/sensor-1/temp', '21.5', { qos: 1 });
      broker.publish(
        {
          cmd: 'publish',
          topic: 'commands/sensor-1/reboot',
          payload: Buffer.from('now'),
          qos: 0,
          retain: false,
          dup: false,
        },
        () => {},
      );
      expect(await received).toBe('commands/sensor-1/reboot=now');

      // Outside its scopes: the subscription is refused.
      const refused = await device.client
        .subscribeAsync('commands/sensor-2/#', { qos: 1 })
        .catch((e: Error) => e);
      expect(refused).toMatchObject({ packet: { granted: [128] } });

      // Within ~1.5 s the device renews: a second CONNECT with a different token.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(connects.length).toBeGreaterThanOrEqual(1);
      expect(device.client.connected).toBe(true);
      expect(new Set(tokensSeen).size).toBeGreaterThanOrEqual(2);
      // After the first token has expired, the device is still connected and can publish.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await device.client.publishAsync('sensors/sensor-1/temp', '22.0', { qos: 1 });
      expect(device.client.connected).toBe(true);
    } finally {
      await device.stop();
    }
  }, 20_000);

  it('is refused with a token for another client id', async () => {
    const credentials = createClientCredentials({
      tokenEndpoint: as.tokenEndpoint,
      clientId: CLIENTS.basic.id,
      clientSecret: CLIENTS.basic.secret,
      resource: JWT_RESOURCE,
    });
    await expect(connectDevice({ brokerUrl, clientId: 'sensor-2', credentials })).rejects.toThrow(
      /[Nn]ot authorized/,
    );
  });
});

/**
 * Identity is what a verifier proved, on a real Aedes broker over TCP with MQTT.js: a valid credential
 * plus a chosen client id or CONNECT username of someone more privileged never becomes that identity.
 */
import { attachGuard } from '@mqtt-warden/aedes';
import { createGuard } from '@mqtt-warden/core';
import { createJwtAuthenticator } from '@mqtt-warden/jwt';
import { createMemoryStore, createPasswordAuthenticator, hashPassword } from '@mqtt-warden/password';
import { parsePolicy } from '@mqtt-warden/policy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connect,
  end,
  publish,
  startBroker,
  subscribeRaw,
  type TestBroker,
} from '../packages/aedes/test/helpers.js';
import { signHs256 } from './aedes-helpers.js';

const SECRET = 'identity-test-hmac-secret-32-bytes!!';
const CHEAP = { memoryCost: 256, timeCost: 1 };

// The quickstart's shape: the device role binds the client id to the principal; admin is a superuser.
const POLICY = `
version: 1
users: { demo: [device], sensor-1: [device] }
superusers: [{ username: admin }]
roles:
  device:
    clientIds: \${principal}
    rules:
      - { effect: allow, actions: all, topics: "devices/\${clientid}/#" }
`;

describe('Aedes: identities are proven and client ids bound', () => {
  let server: TestBroker;
  const url = () => `mqtt://127.0.0.1:${server.ports.tcp}`;

  beforeAll(async () => {
    const store = createMemoryStore([
      { username: 'demo', hash: await hashPassword('demo-password', CHEAP) },
      { username: 'sensor-1', hash: await hashPassword('sensor-password', CHEAP) },
      { username: 'admin', hash: await hashPassword('admin-password', CHEAP) },
    ]);
    const guard = createGuard({
      authenticators: [
        createJwtAuthenticator({ keys: { secret: SECRET }, audience: 'mqtt' }),
        createPasswordAuthenticator({ store }),
      ],
      authorizer: parsePolicy(POLICY),
    });
    server = await startBroker({});
    attachGuard(server.broker, guard);
  });
  afterAll(() => server?.close());

  it("user demo cannot connect as client id sensor-1 (CONNACK 5), nor reach sensor-1's tree", async () => {
    const taken = await connect(url(), { clientId: 'sensor-1', username: 'demo', password: 'demo-password' });
    expect(taken.returnCode).toBe(5);
    const own = await connect(url(), { clientId: 'demo', username: 'demo', password: 'demo-password' });
    expect(own.returnCode).toBe(0);
    expect(await subscribeRaw(own, { 'devices/sensor-1/#': { qos: 0 } })).toEqual([0x80]);
    await end(own);
    // The real sensor-1 still connects under its own id.
    const sensor = await connect(url(), {
      clientId: 'sensor-1',
      username: 'sensor-1',
      password: 'sensor-password',
    });
    expect(sensor.returnCode).toBe(0);
    await end(sensor);
  });

  it('a valid JWT with CONNECT username "admin" is neither admin nor a superuser', async () => {
    const token = signHs256({ sub: 'dev-7', aud: 'mqtt', exp: Math.floor(Date.now() / 1000) + 60 }, SECRET);
    // Bound to its own principal by the default binding; "admin" is merely claimed.
    const asAdmin = await connect(url(), { clientId: 'admin', username: 'admin', password: token });
    expect(asAdmin.returnCode).toBe(5);
    const claimed = await connect(url(), { clientId: 'dev-7', username: 'admin', password: token });
    expect(claimed.returnCode).toBe(0);
    expect(await subscribeRaw(claimed, { '#': { qos: 0 }, 'devices/sensor-1/#': { qos: 0 } })).toEqual([
      0x80, 0x80,
    ]);
    // A publish it may not make closes the connection (MQTT 3.1.1 has no PUBACK refusal).
    expect(await publish(claimed.client, 'devices/sensor-1/cmd', 'x')).toBeInstanceOf(Error);
  });
});

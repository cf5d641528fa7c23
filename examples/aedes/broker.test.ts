import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, connect, delay, end, publish, subscribeRaw } from '../../packages/aedes/test/helpers.js';
import { startBroker } from './broker.js';
import { mintToken } from './token.js';

describe('examples/aedes: the runnable guarded broker', () => {
  const certs = mkdtempSync(join(tmpdir(), 'warden-example-aedes-'));
  let broker: { port: number; ca: string; close(): Promise<void> };
  let url: string;
  const tls = () => ({ ca: broker.ca, servername: 'localhost' });

  beforeAll(async () => {
    broker = await startBroker({ port: 0, certs });
    url = `mqtts://127.0.0.1:${broker.port}`;
  });
  afterAll(async () => {
    await broker?.close();
    rmSync(certs, { recursive: true, force: true });
  });

  it('generated its certificates and a JWT secret at start', () => {
    expect(readFileSync(join(certs, 'ca.pem'), 'utf8')).toContain('BEGIN CERTIFICATE');
    expect(readFileSync(join(certs, 'jwt-secret'), 'utf8').length).toBeGreaterThanOrEqual(32);
  });

  it('accepts password and JWT logins over TLS and enforces policy.yaml', async () => {
    const dashboard = await connect(url, {
      clientId: 'dashboard',
      username: 'dashboard',
      password: 'dashboard-password',
      ...tls(),
    });
    expect(dashboard.returnCode).toBe(0);
    expect(await subscribeRaw(dashboard, { 'sensors/#': { qos: 1 }, '#': { qos: 0 } })).toEqual([1, 0x80]);
    const got = collect(dashboard.client);

    const sensor = await connect(url, {
      clientId: 'sensor-1',
      username: 'sensor-1',
      password: 'sensor-password',
      ...tls(),
    });
    expect(sensor.returnCode).toBe(0);
    await publish(sensor.client, 'sensors/sensor-1/temp', '21.5');

    const secret = readFileSync(join(certs, 'jwt-secret'), 'utf8');
    const jwtSensor = await connect(url, {
      clientId: 'sensor-2',
      username: 'jwt',
      password: mintToken(secret, 'sensor-2', 'sensor', 60),
      ...tls(),
    });
    expect(jwtSensor.returnCode).toBe(0);
    await publish(jwtSensor.client, 'sensors/sensor-2/temp', '19.0');
    // Publishing as another sensor closes the connection.
    expect(await publish(jwtSensor.client, 'sensors/sensor-1/temp', '0')).toBeInstanceOf(Error);

    await delay(200);
    expect(got.map((m) => `${m.topic} ${m.payload}`)).toEqual([
      'sensors/sensor-1/temp 21.5',
      'sensors/sensor-2/temp 19.0',
    ]);
    await end(sensor);
    await end(dashboard);
  });

  it('refuses a wrong password (CONNACK 4) and a token bound to another client id (CONNACK 4 or 5)', async () => {
    expect(
      (await connect(url, { clientId: 'sensor-1', username: 'sensor-1', password: 'nope', ...tls() }))
        .returnCode,
    ).toBe(4);
    const secret = readFileSync(join(certs, 'jwt-secret'), 'utf8');
    const stolen = await connect(url, {
      clientId: 'sensor-9',
      username: 'jwt',
      password: mintToken(secret, 'sensor-2'),
      ...tls(),
    });
    expect([4, 5]).toContain(stolen.returnCode);
  });

  it("refuses a valid password under another sensor's client id (CONNACK 5)", async () => {
    const taken = await connect(url, {
      clientId: 'sensor-2',
      username: 'sensor-1',
      password: 'sensor-password',
      ...tls(),
    });
    expect(taken.returnCode).toBe(5);
  });
});

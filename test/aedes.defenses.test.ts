/**
 * Brute-force lockout on a real Aedes broker over TCP with MQTT.js: after the failures configured for a
 * username from one address, even the right password gets CONNACK 4 (what a wrong one gets) without a
 * hash verification, until the back-off ends.
 */
import { attachGuard } from '@mqtt-warden/aedes';
import { type Authenticator, createGuard } from '@mqtt-warden/core';
import { createDefenses, type Defenses } from '@mqtt-warden/defenses';
import { createMemoryStore, createPasswordAuthenticator, hashPassword } from '@mqtt-warden/password';
import { parsePolicy } from '@mqtt-warden/policy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, end, startBroker, type TestBroker } from '../packages/aedes/test/helpers.js';

const CHEAP = { memoryCost: 256, timeCost: 1 };
const POLICY = `
version: 1
users: { demo: [device], other: [device] }
roles:
  device:
    clientIds: \${principal}
    rules:
      - { effect: allow, actions: all, topics: "devices/\${clientid}/#" }
`;

describe('Aedes with defenses', () => {
  let server: TestBroker;
  let defenses: Defenses;
  let verifications = 0;
  const url = () => `mqtt://127.0.0.1:${server.ports.tcp}`;
  const login = async (username: string, password: string) => {
    const client = await connect(url(), { clientId: username, username, password, reconnectPeriod: 0 });
    const code = client.returnCode;
    await end(client);
    return code;
  };

  beforeAll(async () => {
    const passwords = createPasswordAuthenticator({
      store: createMemoryStore([
        { username: 'demo', hash: await hashPassword('demo-password', CHEAP) },
        { username: 'other', hash: await hashPassword('other-password', CHEAP) },
      ]),
    });
    const counting: Authenticator = {
      name: passwords.name,
      authenticate: (request) => {
        verifications++;
        return passwords.authenticate(request);
      },
    };
    const guard = createGuard({ authenticators: [counting], authorizer: parsePolicy(POLICY) });
    defenses = await createDefenses({
      lockout: { usernameAddress: { failures: 3 }, backoff: { initialSeconds: 1, maxSeconds: 2 } },
    });
    server = await startBroker({});
    attachGuard(server.broker, guard, { defenses });
  });
  afterAll(async () => {
    await server?.close();
    await defenses?.close();
  });

  it('answers a locked-out CONNECT with CONNACK 4 and no verification, then lets it in after the back-off', async () => {
    for (let i = 0; i < 3; i++) expect(await login('demo', `guess-${i}`)).toBe(4);
    expect(verifications).toBe(3);
    expect(await login('demo', 'demo-password')).toBe(4);
    expect(verifications).toBe(3);
    // Another username from the same address is not locked by demo's failures.
    expect(await login('other', 'other-password')).toBe(0);
    expect((await defenses.lockout!.list()).map((e) => e.key)).toEqual(['user-address:demo@127.0.0.1']);

    await new Promise((r) => setTimeout(r, 1200));
    expect(await login('demo', 'demo-password')).toBe(0);
  });
});

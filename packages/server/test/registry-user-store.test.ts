import { createHash, randomBytes } from 'node:crypto';
import { type ConnectRequest, InvalidInputError } from '@mqtt-warden/core';
import { createMemoryStore, createPasswordAuthenticator, hashPassword } from '@mqtt-warden/password';
import { MemoryRegistry } from '@mqtt-warden/registry';
import { RegistryCredentials, registryUserStore } from '@mqtt-warden/server';
import { afterAll, describe, expect, it } from 'vitest';

const connect = (username: string, password: string): ConnectRequest => ({
  clientId: username,
  username,
  password: new TextEncoder().encode(password),
  transport: { tls: true, remoteAddress: '10.0.0.9' },
});
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;

describe('registry devices behind the password authenticator', () => {
  const store = new MemoryRegistry();
  const credentials = new RegistryCredentials({ store });
  afterAll(() => credentials.close());

  it('an unknown name costs what a registry device with a wrong password costs, even when the file holds only fast hashes', async () => {
    const salt = randomBytes(16).toString('hex');
    // The file's only format is a fast legacy one: without the registry's sample the dummy would be that.
    const file = createMemoryStore([
      {
        username: 'legacy',
        hash: {
          algorithm: 'sha256',
          salt,
          hash: createHash('sha256').update(`${salt}pw`).digest('hex'),
        },
      },
    ]);
    await store.createDevice({ id: 'dev-1' }, { actor: 'test' });
    await store.addCredential(
      'dev-1',
      { kind: 'password', hash: await hashPassword('right') },
      { actor: 'test' },
    );
    const auth = createPasswordAuthenticator({
      store: registryUserStore({ registry: credentials, file, sampleHash: await hashPassword('sample') }),
      cache: false,
    });
    await auth.authenticate(connect('warm-up', 'x'));
    const samples: [number[], number[]] = [[], []];
    for (let round = 0; round < 7; round++) {
      for (const [i, user] of (['nobody', 'dev-1'] as const).entries()) {
        const start = performance.now();
        expect(await auth.authenticate(connect(user, `wrong ${round}`))).toMatchObject({ outcome: 'deny' });
        samples[i]?.push(performance.now() - start);
      }
    }
    const [unknown, device] = samples.map(median) as [number, number];
    // Generous for a loaded machine; without the sample the gap is two orders of magnitude.
    expect(unknown).toBeGreaterThan(device / 3);
    expect(await auth.authenticate(connect('dev-1', 'right'))).toMatchObject({
      outcome: 'allow',
      principal: { id: 'dev-1', username: 'dev-1', attributes: { 'device.id': 'dev-1' } },
    });
  });

  it('a lookup the store refuses as malformed is "not found", not a sign of an unhealthy store', async () => {
    const picky = new Proxy(store, {
      get(target, property, receiver) {
        if (property === 'findCredentials') {
          return () => Promise.reject(new InvalidInputError('a value does not fit the registry'));
        }
        return Reflect.get(target, property, receiver);
      },
    });
    const strict = new RegistryCredentials({ store: picky });
    try {
      expect(await strict.find({ kind: 'password', username: 'x'.repeat(5_000) })).toBeUndefined();
      expect(strict.healthy).toBe(true);
    } finally {
      await strict.close();
    }
  });
});

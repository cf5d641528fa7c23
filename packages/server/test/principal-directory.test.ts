import { createMemoryStore } from '@mqtt-warden/password';
import { describe, expect, it } from 'vitest';
import { PrincipalDirectory } from '../src/principal-directory.js';

// Any valid stored hash: the directory never verifies passwords.
const HASH =
  '$argon2id$v=19$m=19456,p=1,t=2$dXyS8uOq4IIatNqwTnCYAw$JeLSqAlZMt2lXPq4CF8Igol1PlMdou4OSpjWArSaInw';

describe('PrincipalDirectory', () => {
  it('reuses the principal it built for the same client, so downstream caches find it by identity', async () => {
    const store = createMemoryStore([{ username: 'u', hash: HASH, roles: ['device'] }]);
    const directory = new PrincipalDirectory({ store });
    const a = await directory.resolve({ username: 'u', clientId: 'c' });
    expect(a).toMatchObject({ id: 'u', clientId: 'c', roles: ['device'] });
    expect(await directory.resolve({ username: 'u', clientId: 'c' })).toBe(a);
    expect(await directory.resolve({ username: 'u', clientId: 'other' })).not.toBe(a);
    expect(
      await directory.resolve({ username: 'u', clientId: 'c', remoteAddress: '10.0.0.1' }),
    ).toMatchObject({
      remoteAddress: '10.0.0.1',
    });
  });

  it('forgets built principals when the store changes: new roles apply, removed users are unknown', async () => {
    const store = createMemoryStore([{ username: 'u', hash: HASH, roles: ['device'] }]);
    const directory = new PrincipalDirectory({ store });
    await directory.resolve({ username: 'u', clientId: 'c' });
    store.set({ username: 'u', hash: HASH, roles: ['admin'] });
    expect(await directory.resolve({ username: 'u', clientId: 'c' })).toMatchObject({ roles: ['admin'] });
    store.delete('u');
    expect(await directory.resolve({ username: 'u', clientId: 'c' })).toBeUndefined();
  });
});

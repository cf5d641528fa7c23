import { createHash, randomBytes } from 'node:crypto';
import type { ConnectRequest } from '@mqtt-warden/core';
import { describe, expect, it, vi } from 'vitest';
import {
  createMemoryStore,
  createPasswordAuthenticator,
  hashPassword,
  type PasswordAuthenticator,
  type StoredHash,
  type UserEntry,
} from '../src/index.js';

// argon2id cheap enough for a test, still ~10× a salted SHA-256 on any machine.
const ARGON2 = { memoryCost: 4096, timeCost: 3 };

const connect = (username: string, password: string): ConnectRequest => ({
  clientId: username,
  username,
  password: new TextEncoder().encode(password),
  transport: { tls: true, remoteAddress: '10.0.0.9' },
});

/** EMQX's default salted SHA-256 (`sha256(salt ‖ password)`, hex): the legacy format of the red-team report. */
function saltedSha256(password: string): StoredHash {
  const salt = randomBytes(16).toString('hex');
  return {
    algorithm: 'sha256',
    salt,
    hash: createHash('sha256')
      .update(salt + password)
      .digest('hex'),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;

/** Median time of a wrong password for each username, measured in alternation (load hits all alike). */
async function medians(auth: PasswordAuthenticator, users: readonly string[], rounds = 9): Promise<number[]> {
  const samples = users.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    for (const [i, user] of users.entries()) {
      const start = performance.now();
      const outcome = await auth.authenticate(connect(user, `wrong ${round}`));
      samples[i]?.push(performance.now() - start);
      expect(outcome).toMatchObject({ outcome: 'deny', reason: 'bad-credentials' });
    }
  }
  return samples.map(median);
}

async function mixedStore(argon2: number, legacy: number): Promise<UserEntry[]> {
  const users: UserEntry[] = [];
  for (let i = 0; i < argon2; i++)
    users.push({ username: `new-${i}`, hash: await hashPassword(`p${i}`, ARGON2) });
  for (let i = 0; i < legacy; i++) users.push({ username: `old-${i}`, hash: saltedSha256(`p${i}`) });
  return users;
}

describe('an unknown user costs what a wrong password costs, whatever the formats in the store', () => {
  // Before issue 10 (medians here): with an argon2id majority a legacy user answered in 0.4 ms against
  // 75 ms for an unknown one; with a legacy majority an argon2id user took 57 ms, an unknown one 0.07 ms.
  for (const [label, argon2, legacy] of [
    ['argon2id majority', 3, 1],
    ['legacy majority', 1, 3],
  ] as const) {
    it(`${label}: unknown, wrong argon2id and wrong salted SHA-256 within 3× of each other`, async () => {
      const store = createMemoryStore(await mixedStore(argon2, legacy));
      const auth = createPasswordAuthenticator({ store, cache: false });
      await auth.authenticate(connect('warm-up', 'x')); // picks and times the dummy
      const [unknown, modern, old] = await medians(auth, ['nobody', 'new-0', 'old-0']);
      const u = unknown as number;
      // Generous for a loaded 2-core machine; the gap this closes was 200-800× here.
      for (const known of [modern, old] as number[]) {
        expect(known).toBeGreaterThan(u / 3);
        expect(known).toBeLessThan(u * 3);
      }
    });
  }

  it('a legacy hash is replaced by argon2id at its next good login (with `rehash`)', async () => {
    const store = createMemoryStore(await mixedStore(1, 1));
    const auth = createPasswordAuthenticator({ store, cache: false, rehash: ARGON2 });
    expect((await auth.authenticate(connect('old-0', 'p0'))).outcome).toBe('allow');
    await vi.waitFor(() => expect(store.get('old-0')?.hash).toMatch(/^\$argon2id\$v=19\$m=4096,t=3,p=1\$/));
    expect((await auth.authenticate(connect('old-0', 'p0'))).outcome).toBe('allow');
    expect((await auth.authenticate(connect('old-0', 'wrong'))).outcome).toBe('deny');
  });
});

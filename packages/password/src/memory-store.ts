import type { CredentialStore, UserEntry } from './credential-store.js';
import { identifyHash } from './identify-hash.js';

/** An in-memory {@link CredentialStore} that can be changed at run time. */
export interface MemoryStore extends CredentialStore {
  get(username: string): UserEntry | undefined;
  /** Adds or replaces a user. Throws {@link PasswordFormatError} for an unusable hash. */
  set(entry: UserEntry): void;
  delete(username: string): boolean;
  /** Replaces all users at once (a reload); every hash is checked before anything changes. */
  replace(entries: Iterable<UserEntry>): void;
  updateHash(username: string, hash: string): void;
}

/**
 * Creates an in-memory credential store. Every hash is validated when it is added, so a bad entry is
 * noticed at load time rather than at login.
 *
 * @example
 * ```ts
 * const store = createMemoryStore([{ username: 'dev1', hash: await hashPassword(secret), roles: ['device'] }]);
 * ```
 */
export function createMemoryStore(initial: Iterable<UserEntry> = []): MemoryStore {
  let users = index(initial);
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const listener of listeners) listener();
  };

  return {
    get: (username) => users.get(username),
    entries: () => users.values(),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    set(entry) {
      identifyHash(entry.hash);
      users.set(entry.username, entry);
      changed();
    },
    delete(username) {
      const deleted = users.delete(username);
      if (deleted) changed();
      return deleted;
    },
    replace(entries) {
      users = index(entries);
      changed();
    },
    updateHash(username, hash) {
      const entry = users.get(username);
      if (!entry) return;
      identifyHash(hash);
      // A rehash keeps passwordChangedAt: the password itself did not change.
      users.set(username, { ...entry, hash });
      changed();
    },
  };
}

function index(entries: Iterable<UserEntry>): Map<string, UserEntry> {
  const users = new Map<string, UserEntry>();
  for (const entry of entries) {
    identifyHash(entry.hash);
    users.set(entry.username, entry);
  }
  return users;
}

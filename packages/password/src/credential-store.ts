import type { StoredHash } from './stored-hash.js';

/** One user of a credential store. */
export interface UserEntry {
  readonly username: string;
  readonly hash: string | StoredHash;
  /**
   * Further hashes that prove this user's password, tried after `hash` (a rotation whose old and new
   * passwords overlap). A wrong password then costs one verification per hash.
   */
  readonly otherHashes?: readonly string[];
  /** The principal id; default the username (a registry device's id). */
  readonly id?: string;
  /** When given, the only client ids this user may connect with. */
  readonly clientIds?: readonly string[];
  /** When the user's principal expires (the credential or the account ends). */
  readonly expiresAt?: Date;
  readonly roles?: readonly string[];
  readonly groups?: readonly string[];
  readonly superuser?: boolean;
  /** Become principal attributes (policy placeholders such as `${attributes.site}`). */
  readonly attributes?: Readonly<Record<string, string | readonly string[]>>;
  /** When the password was last set, for {@link PasswordRules.maxAgeDays}. */
  readonly passwordChangedAt?: Date;
  /** A disabled user cannot log in even with the right password. */
  readonly disabled?: boolean;
}

/**
 * Where the password authenticator looks users up. Implement it for a database; the package ships an
 * in-memory store and a file store.
 */
export interface CredentialStore {
  get(username: string): UserEntry | undefined | Promise<UserEntry | undefined>;
  /** All users; used to pick a same-cost dummy hash for unknown usernames. */
  entries(): Iterable<UserEntry>;
  /** Called after users change (reload, update); returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
  /** Replaces a user's hash after a successful login (upgrade to argon2id); optional. */
  updateHash?(username: string, hash: string): void | Promise<void>;
  /** Told which of the entry's hashes proved a login (a registry records the credential's last use); optional. */
  recordUse?(entry: UserEntry, hash: string | StoredHash): void;
}

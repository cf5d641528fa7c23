import type { CredentialStore, StoredHash, UserEntry } from '@mqtt-warden/password';
import type { PasswordCredential } from '@mqtt-warden/registry';
import {
  credentialLive,
  deviceAttributes,
  deviceUsable,
  type RegistryCredentials,
} from './registry-credentials.js';

export interface RegistryUserStoreOptions {
  readonly registry: RegistryCredentials;
  /** The `file` of the password authenticator; its users are looked up first. */
  readonly file?: CredentialStore;
  /**
   * A hash in the format new registry passwords get (argon2id): unknown usernames are checked against a
   * dummy at least this slow, so a registry device is not told apart from an unknown name by timing.
   */
  readonly sampleHash: string;
  /** Clock in ms; tests inject one. */
  readonly now?: () => number;
}

/**
 * The password authenticator's {@link CredentialStore} with `store:` configured: the users of the
 * `file` first, then the devices registered in the registry (a username in both is the file's user,
 * so a registry write cannot take over a name the operator wrote in the file). A device becomes a user
 * entry with id = device id, its username, roles, groups, attributes (plus `device.id`), bound client
 * ids and expiry; disabled outside its validity window; its live password credentials are the entry's
 * hashes, newest first. A device without a live password credential is an unknown user.
 *
 * @example
 * ```ts
 * const users = registryUserStore({ registry, file: await openFileStore({ path }), sampleHash });
 * const passwords = createPasswordAuthenticator({ store: users });
 * ```
 */
export function registryUserStore(options: RegistryUserStoreOptions): CredentialStore {
  const { registry, file } = options;
  const now = options.now ?? Date.now;
  const sample: UserEntry = { username: '', hash: options.sampleHash };
  /** The credential id of each hash of the entries handed out, to record which one proved a login. */
  const credentialOf = new WeakMap<UserEntry, ReadonlyMap<string | StoredHash, string>>();
  return {
    async get(username) {
      const fromFile = await file?.get(username);
      if (fromFile) return fromFile;
      const found = await registry.find({ kind: 'password', username });
      if (!found) return undefined;
      const t = now();
      const passwords = found.credentials
        .filter((c): c is PasswordCredential => c.kind === 'password' && credentialLive(c, t))
        .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
      const [newest, ...others] = passwords;
      if (!newest) return undefined;
      const { device } = found;
      const entry: UserEntry = {
        id: device.id,
        username: device.username,
        hash: newest.hash,
        ...(others.length > 0 ? { otherHashes: others.map((c) => c.hash) } : {}),
        roles: device.roles,
        groups: device.groups,
        attributes: deviceAttributes(device),
        clientIds: device.clientIds,
        ...(device.expiresAt ? { expiresAt: device.expiresAt } : {}),
        disabled: !deviceUsable(device, t),
      };
      credentialOf.set(entry, new Map(passwords.map((c) => [c.hash, c.id])));
      return entry;
    },
    *entries() {
      if (file) yield* file.entries();
      yield sample;
    },
    onChange: (listener) => file?.onChange(listener) ?? (() => {}),
    recordUse(entry, hash) {
      const id = credentialOf.get(entry)?.get(hash);
      if (id !== undefined) registry.touch(id);
      else file?.recordUse?.(entry, hash);
    },
    ...(file?.updateHash
      ? {
          // Only file users are rehashed: registry hashes change through the admin API.
          updateHash: async (username: string, hash: string) => {
            if (await file.get(username)) await file.updateHash?.(username, hash);
          },
        }
      : {}),
  };
}

import type { CredentialStore } from '@mqtt-warden/password';
import { credentialLive, deviceUsable, type RegistryCredentials } from './registry-credentials.js';

/** The claims of a device token that say who it was issued to and how that subject proved itself. */
export interface TokenSubject {
  readonly sub: string;
  readonly amr?: unknown;
  /** The username the server proved when it issued the token. */
  readonly username?: unknown;
}

/**
 * Whether the subject of a device token may still use it. A token issued to a password user (`amr`
 * `password`, a file's user or a registry device) lives only as long as the user: the first credential
 * store that holds its username (else `sub`) must have it enabled, under the same id; a user no store
 * holds any more is gone. A token proven otherwise whose `sub` is a registry device's id lives only
 * while the device is enabled, inside its validity window and holds a live credential (a cached lookup,
 * dropped by the change feed). Other subjects (certificates, PSK, JWT, OAuth) keep their tokens until
 * they expire.
 *
 * @example
 * ```ts
 * const subjectActive = tokenSubjectCheck([store]);
 * createDeviceTokenAuthenticator({ issuer, iss, audience, algorithm, subjectActive });
 * ```
 */
export function tokenSubjectCheck(
  stores: readonly CredentialStore[],
  registry?: RegistryCredentials,
  now: () => number = Date.now,
): (subject: TokenSubject) => Promise<boolean> {
  return async ({ sub, amr, username }) => {
    if (Array.isArray(amr) && amr.includes('password')) {
      // The stores in the order the password authenticator reads them (a file's users before devices).
      const name = typeof username === 'string' ? username : sub;
      for (const store of stores) {
        const entry = await store.get(name);
        if (entry) return entry.disabled !== true && (entry.id ?? entry.username) === sub;
      }
      return false;
    }
    const found = await registry?.device(sub);
    if (!found) return true;
    const t = now();
    return deviceUsable(found.device, t) && found.credentials.some((c) => credentialLive(c, t));
  };
}

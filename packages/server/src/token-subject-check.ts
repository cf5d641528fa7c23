import type { CredentialStore } from '@mqtt-warden/password';

/** The claims of a device token that say who it was issued to and how that subject proved itself. */
export interface TokenSubject {
  readonly sub: string;
  readonly amr?: unknown;
}

/**
 * Whether the subject of a device token may still use it. A token issued to a password user (`amr`
 * `password`) lives only as long as the user: the first credential store that holds `sub` must have it
 * enabled, and a user no store holds any more is gone. One map lookup per connect for the file stores.
 * Subjects proven otherwise (certificates, PSK, JWT, OAuth) have no entry here and keep their tokens
 * until they expire.
 *
 * @example
 * ```ts
 * const subjectActive = tokenSubjectCheck([store]);
 * createDeviceTokenAuthenticator({ issuer, iss, audience, algorithm, subjectActive });
 * ```
 */
export function tokenSubjectCheck(
  stores: readonly CredentialStore[],
): (subject: TokenSubject) => Promise<boolean> {
  return async ({ sub, amr }) => {
    if (!Array.isArray(amr) || !amr.includes('password')) return true;
    for (const store of stores) {
      const entry = await store.get(sub);
      if (entry) return entry.disabled !== true;
    }
    return false;
  };
}

import type { Principal, PrincipalQuery, PrincipalResolver } from '@mqtt-warden/core';
import { type CredentialStore, userPrincipal } from '@mqtt-warden/password';
import { LRUCache } from 'lru-cache';

export interface PrincipalDirectoryOptions {
  /** Users known without a login (the password store). */
  readonly store?: CredentialStore;
  /** Principals remembered from logins. Defaults: 100,000 entries, 24 h. */
  readonly max?: number;
  readonly ttlMs?: number;
}

/**
 * Answers "who is this connected client?" for authorization requests that carry only username and
 * client id: first the principal remembered from its login through this server (so token and
 * certificate identities keep their roles and rules), then the credential store. Forgets everything
 * when the store changes, so a removed user stops being authorized.
 *
 * @example
 * ```ts
 * const directory = new PrincipalDirectory({ store });
 * const result = await guard.authenticate(request);
 * if (result.ok) directory.remember(result.principal);
 * await app.register(emqxPlugin, { guard, resolver: directory });
 * ```
 */
export class PrincipalDirectory implements PrincipalResolver {
  readonly #store: CredentialStore | undefined;
  readonly #remembered: LRUCache<string, Principal>;
  /**
   * Principals built from store entries, reused so that the guard and the policy find them by identity
   * instead of hashing their content on every request.
   */
  readonly #built: LRUCache<string, Principal>;

  constructor(options: PrincipalDirectoryOptions = {}) {
    this.#store = options.store;
    this.#remembered = new LRUCache({ max: options.max ?? 100_000, ttl: options.ttlMs ?? 86_400_000 });
    this.#built = new LRUCache({ max: options.max ?? 100_000 });
    this.#store?.onChange(() => this.clear());
  }

  remember(principal: Principal): void {
    this.#remembered.set(key(principal.username, principal.clientId), principal);
  }

  async resolve(query: PrincipalQuery): Promise<Principal | undefined> {
    if (query.clientId !== undefined) {
      const remembered = this.#remembered.get(key(query.username, query.clientId));
      if (remembered) return remembered;
    }
    if (!this.#store || query.username === undefined) return undefined;
    const builtKey = `${key(query.username, query.clientId ?? '')}\u0000${query.remoteAddress ?? ''}`;
    const built = this.#built.get(builtKey);
    if (built) return built;
    const entry = await this.#store.get(query.username);
    if (!entry || entry.disabled) return undefined;
    const principal = userPrincipal(entry, {
      clientId: query.clientId ?? '',
      remoteAddress: query.remoteAddress,
    });
    this.#built.set(builtKey, principal);
    return principal;
  }

  clear(): void {
    this.#remembered.clear();
    this.#built.clear();
  }
}

function key(username: string | undefined, clientId: string): string {
  return `${username ?? ''}\u0000${clientId}`;
}

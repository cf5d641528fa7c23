import { createHmac, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/**
 * Credentials this process verified successfully not long ago, kept as HMAC-SHA256 digests of
 * username and password under a random key made at start (never written anywhere), so a reconnect
 * storm can let known devices through first. Holds no password: the digest cannot be checked against
 * a guess without the key, which never leaves the process.
 *
 * @example
 * ```ts
 * const recent = new RecentCredentials({ max: 100_000, ttlMs: 3_600_000 });
 * recent.has('alice', password); // false
 * recent.add('alice', password);
 * ```
 */
export class RecentCredentials {
  readonly #key = randomBytes(32);
  readonly #digests: LRUCache<string, true>;

  constructor(options: { readonly max: number; readonly ttlMs: number }) {
    this.#digests = new LRUCache({ max: options.max, ttl: options.ttlMs });
  }

  has(username: string, password: Uint8Array): boolean {
    return this.hasDigest(this.digest(username, password));
  }

  add(username: string, password: Uint8Array): void {
    this.addDigest(this.digest(username, password));
  }

  /** The keyed digest `has` and `add` look up: one login asks and then adds without hashing twice. */
  digest(username: string, password: Uint8Array): string {
    // The length prefix keeps ("ab", "c") and ("a", "bc") apart.
    const name = Buffer.from(username, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(name.byteLength);
    return createHmac('sha256', this.#key).update(length).update(name).update(password).digest('base64');
  }

  hasDigest(digest: string): boolean {
    return this.#digests.has(digest);
  }

  addDigest(digest: string): void {
    this.#digests.set(digest, true);
  }

  get size(): number {
    return this.#digests.size;
  }
}

import { ConfigError } from '@mqtt-warden/core';

/** Where TLS-PSK keys and device keys are looked up. Implement it to serve keys from a database. */
export interface PskKeySource {
  /** The key for an identity, or undefined when the identity is unknown. */
  get(identity: string): Uint8Array | undefined;
}

/**
 * An in-memory map of PSK identity → key. `replace` swaps the whole content at once, so a reload
 * from a file never exposes a half-loaded store.
 *
 * @example
 * ```ts
 * const store = new PskStore(parseMosquittoPskFile(await readFile('/etc/mosquitto/psk', 'utf8')));
 * store.set('sensor-7', generatePskKey());
 * ```
 */
export class PskStore implements PskKeySource {
  #keys: Map<string, Uint8Array>;

  constructor(entries: Iterable<readonly [string, Uint8Array]> = []) {
    this.#keys = PskStore.#copy(entries);
  }

  get(identity: string): Uint8Array | undefined {
    return this.#keys.get(identity);
  }

  has(identity: string): boolean {
    return this.#keys.has(identity);
  }

  set(identity: string, key: Uint8Array): this {
    this.#keys.set(identity, PskStore.#check(identity, key));
    return this;
  }

  delete(identity: string): boolean {
    return this.#keys.delete(identity);
  }

  /** Replaces every entry (e.g. after the PSK file changed). */
  replace(entries: Iterable<readonly [string, Uint8Array]>): void {
    this.#keys = PskStore.#copy(entries);
  }

  get size(): number {
    return this.#keys.size;
  }

  static #copy(entries: Iterable<readonly [string, Uint8Array]>): Map<string, Uint8Array> {
    const keys = new Map<string, Uint8Array>();
    for (const [identity, key] of entries) keys.set(identity, PskStore.#check(identity, key));
    return keys;
  }

  static #check(identity: string, key: Uint8Array): Uint8Array {
    if (identity === '') throw new ConfigError('a PSK identity must not be empty');
    if (key.length === 0) throw new ConfigError(`the PSK of identity "${identity}" must not be empty`);
    return key;
  }
}

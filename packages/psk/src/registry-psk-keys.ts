import { errorCode } from '@mqtt-warden/core';
import { PskKeysFullError } from './errors.js';
import type { PskKeySource } from './psk-store.js';

/** The fields of a registry device a PSK login uses (structurally `Device` of `@mqtt-warden/registry`). */
export interface PskRegistryDevice {
  readonly id: string;
  readonly username: string;
  readonly clientIds: readonly string[];
  readonly roles: readonly string[];
  readonly groups: readonly string[];
  readonly attributes: Readonly<Record<string, string | readonly string[]>>;
  readonly enabled: boolean;
  readonly notBefore?: Date;
  readonly expiresAt?: Date;
}

/** A registry credential as listed (structurally `Credential`); only `kind: 'psk'` ones are kept. */
export interface PskRegistryCredential {
  readonly id: string;
  readonly kind: string;
  readonly identity?: string;
  readonly key?: Uint8Array;
  readonly expiresAt?: Date;
  readonly revokedAt?: Date;
}

/**
 * What {@link RegistryPskKeys} reads: a subset of `RegistryStore` (`@mqtt-warden/registry`), so a
 * `MemoryRegistry` or the PostgreSQL store is passed as is, and this package does not depend on it.
 */
export interface PskRegistry {
  listDevices(query: {
    readonly after?: string;
    readonly limit?: number;
  }): Promise<{ readonly devices: readonly PskRegistryDevice[]; readonly next?: string }>;
  getDevice(id: string): Promise<PskRegistryDevice | undefined>;
  listCredentials(deviceId: string): Promise<readonly PskRegistryCredential[]>;
  onChange(listener: (change: { readonly kind: string; readonly deviceId?: string }) => void): () => void;
}

/** One PSK identity of a registry device, as held in memory. */
export interface RegistryPskEntry {
  readonly identity: string;
  readonly key: Uint8Array;
  readonly credentialId: string;
  readonly expiresAt?: Date;
  /** A future revocation (an overlap window); past ones are never loaded. */
  readonly revokedAt?: Date;
  readonly device: PskRegistryDevice;
}

/** Options of {@link RegistryPskKeys.load}. */
export interface RegistryPskKeysOptions {
  /** Bound of the in-memory table in estimated bytes (see {@link RegistryPskKeys}). Default 64 MiB. */
  readonly maxBytes?: number;
  /** Devices per `listDevices` page. Default 1,000. */
  readonly pageSize?: number;
  /** `listCredentials` calls in flight while loading. Default 8. */
  readonly concurrency?: number;
  /** Wait before re-reading a device (or everything) after the store failed to answer. Default 5 s. */
  readonly retryMs?: number;
  /** Told about store failures and refused entries; never given a key. */
  readonly logger?: { warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
  /** Clock in ms; tests inject one. */
  readonly now?: () => number;
}

/**
 * Estimated bytes of one identity beyond its strings and key: map slot, entry object, Buffer and
 * ArrayBuffer headers. With DEVICE_OVERHEAD, set so that the estimate is at least the V8 heap measured
 * for 10,000 PostgreSQL devices with one identity each (≈ 1.55 KB per device).
 */
const ENTRY_OVERHEAD = 400;
/** Estimated bytes of one device beyond its JSON text: object, Dates, arrays, map slot, identity list. */
const DEVICE_OVERHEAD = 600;

interface DeviceSlot {
  readonly identities: readonly string[];
  readonly bytes: number;
}

/** identity → entry, with each device's identities and the estimated bytes of the whole. */
class Table {
  readonly entries = new Map<string, RegistryPskEntry>();
  readonly devices = new Map<string, DeviceSlot>();
  bytes = 0;

  constructor(readonly maxBytes: number) {}

  /** Puts a device's live PSK credentials in place of what it had; false (nothing added) when over the bound. */
  put(device: PskRegistryDevice, credentials: readonly PskRegistryCredential[], now: number): boolean {
    this.remove(device.id);
    const psks = credentials.filter(
      (c): c is PskRegistryCredential & { identity: string; key: Uint8Array } =>
        c.kind === 'psk' &&
        c.identity !== undefined &&
        c.key !== undefined &&
        (c.revokedAt === undefined || c.revokedAt.getTime() > now) &&
        (c.expiresAt === undefined || c.expiresAt.getTime() > now),
    );
    if (psks.length === 0 || !loadable(device, now)) return true;
    let bytes = DEVICE_OVERHEAD + 2 * JSON.stringify(device).length;
    for (const c of psks) bytes += ENTRY_OVERHEAD + 2 * (c.identity.length + c.id.length) + c.key.byteLength;
    if (this.bytes + bytes > this.maxBytes) return false;
    for (const c of psks) {
      // Identities are unique in the store: a stale claim by another device (a moved credential whose
      // change is still in flight) loses to this newer read; `remove` leaves entries it no longer owns.
      this.entries.set(c.identity, {
        identity: c.identity,
        key: c.key,
        credentialId: c.id,
        device,
        ...(c.expiresAt && { expiresAt: c.expiresAt }),
        ...(c.revokedAt && { revokedAt: c.revokedAt }),
      });
    }
    this.devices.set(device.id, { identities: psks.map((c) => c.identity), bytes });
    this.bytes += bytes;
    return true;
  }

  remove(deviceId: string): void {
    const slot = this.devices.get(deviceId);
    if (!slot) return;
    this.devices.delete(deviceId);
    this.bytes -= slot.bytes;
    for (const identity of slot.identities) {
      if (this.entries.get(identity)?.device.id === deviceId) this.entries.delete(identity);
    }
  }
}

/**
 * TLS-PSK keys of registry devices for Node's synchronous `pskCallback`: an in-memory table of
 * identity → key and device, loaded from the store at start (paged) and kept current by its change feed.
 * A change to a device or one of its credentials drops that device's identities at once (a handshake
 * during the re-read fails rather than use the old state) and re-reads it; `resync` reloads everything.
 * `get` answers only for an enabled device inside its validity window whose credential is neither
 * expired nor revoked, so a disabled device or revoked key fails its next handshake as soon as this
 * replica hears the change (LISTEN/NOTIFY for PostgreSQL: well under a second).
 *
 * Bounded: each identity costs about 400 bytes + 2 × (identity + credential id length) + key length,
 * each device holding one about 600 bytes + 2 × its JSON length (≈ 1.6 KB for a device with one
 * identity and a few roles, so the default 64 MiB holds ≈ 40,000 such devices). Disabled and expired devices, and
 * devices without a live PSK credential, cost nothing. {@link RegistryPskKeys.load} throws
 * {@link PskKeysFullError} (`ERR_PSK_KEYS_FULL`) when the fleet does not fit `maxBytes`; later, a device
 * that no longer fits is left out (its handshakes fail) and logged.
 *
 * @example
 * ```ts
 * const keys = await RegistryPskKeys.load(store, { logger: console });
 * const server = tls.createServer({ pskCallback: createPskCallback(keys), ciphers: 'PSK-AES128-GCM-SHA256' }, broker.handle);
 * const guard = createGuard({ authenticators: [createRegistryPskAuthenticator(keys)], authorizer });
 * ```
 */
export class RegistryPskKeys implements PskKeySource {
  readonly #registry: PskRegistry;
  readonly #maxBytes: number;
  readonly #pageSize: number;
  readonly #concurrency: number;
  readonly #retryMs: number;
  readonly #logger: RegistryPskKeysOptions['logger'];
  readonly #now: () => number;
  #table: Table;
  #unsubscribe: () => void = () => {};
  /** Devices whose re-read is in flight, with the change it answers: only the latest read applies. */
  readonly #pending = new Map<string, number>();
  /** The latest re-read of each changed device, for {@link current}. */
  readonly #inflight = new Map<string, Promise<void>>();
  #changes = 0;
  /** Set while everything is reloading: devices changed meanwhile, re-read after the swap. */
  #changedDuringReload: Set<string> | undefined;
  #reloadAgain = false;
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;

  private constructor(registry: PskRegistry, options: RegistryPskKeysOptions) {
    this.#registry = registry;
    this.#maxBytes = options.maxBytes ?? 64 * 2 ** 20;
    this.#pageSize = options.pageSize ?? 1_000;
    this.#concurrency = options.concurrency ?? 8;
    this.#retryMs = options.retryMs ?? 5_000;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#table = new Table(this.#maxBytes);
  }

  /**
   * Subscribes to the change feed, then loads every device's PSK credentials. Throws
   * {@link PskKeysFullError} when they do not fit `maxBytes`, and the store's error when it cannot answer.
   */
  static async load(registry: PskRegistry, options: RegistryPskKeysOptions = {}): Promise<RegistryPskKeys> {
    const keys = new RegistryPskKeys(registry, options);
    // Subscribed first, so a change committed during the load is not missed.
    keys.#unsubscribe = registry.onChange((change) => keys.#changed(change));
    try {
      keys.#changedDuringReload = new Set();
      await keys.#swapIn(await keys.#readAll(true));
    } catch (error) {
      keys.close();
      throw error;
    }
    if (keys.#reloadAgain) {
      keys.#reloadAgain = false;
      void keys.#reload();
    }
    return keys;
  }

  /** The key of an identity whose device and credential may log in now; undefined otherwise. */
  get(identity: string): Uint8Array | undefined {
    return this.lookup(identity)?.key;
  }

  /** The entry of an identity whose device and credential may log in now; undefined otherwise. */
  lookup(identity: string): RegistryPskEntry | undefined {
    const entry = this.#table.entries.get(identity);
    if (!entry) return undefined;
    const now = this.#now();
    const { device } = entry;
    if (!loadable(device, now) || (device.notBefore && device.notBefore.getTime() > now)) return undefined;
    if (entry.revokedAt && entry.revokedAt.getTime() <= now) return undefined;
    if (entry.expiresAt && entry.expiresAt.getTime() <= now) return undefined;
    return entry;
  }

  /**
   * The entry of an identity once every change heard so far for `deviceId` has been re-read: for
   * revalidating a connected client after a change (see `revalidateRegistryPsk`). Undefined when the
   * identity is no longer the device's or not usable, or the store could not be read (fail closed).
   */
  async current(identity: string, deviceId: string): Promise<RegistryPskEntry | undefined> {
    // Other listeners of the same change may run before this table's: let them all run first.
    await new Promise((resolve) => setImmediate(resolve));
    await this.#inflight.get(deviceId);
    const entry = this.lookup(identity);
    return entry?.device.id === deviceId ? entry : undefined;
  }

  /** Identities held (including ones not usable right now). */
  get size(): number {
    return this.#table.entries.size;
  }

  /** Estimated bytes held, at most `maxBytes`. */
  get bytes(): number {
    return this.#table.bytes;
  }

  /** Stops following the change feed and forgets every key. */
  close(): void {
    this.#closed = true;
    this.#unsubscribe();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#table = new Table(this.#maxBytes);
  }

  #changed(change: { readonly kind: string; readonly deviceId?: string }): void {
    if (this.#closed) return;
    if (change.kind === 'resync') {
      void this.#reload();
      return;
    }
    const { deviceId } = change;
    if ((change.kind !== 'device' && change.kind !== 'credential') || deviceId === undefined) return;
    this.#table.remove(deviceId);
    this.#changedDuringReload?.add(deviceId);
    const read = this.#refresh(deviceId).finally(() => {
      if (this.#inflight.get(deviceId) === read) this.#inflight.delete(deviceId);
    });
    this.#inflight.set(deviceId, read);
  }

  /** Re-reads one device; on failure it stays out (fail closed) and is tried again after `retryMs`. */
  async #refresh(deviceId: string): Promise<void> {
    const ticket = ++this.#changes;
    this.#pending.set(deviceId, ticket);
    let device: PskRegistryDevice | undefined;
    let credentials: readonly PskRegistryCredential[] = [];
    try {
      device = await this.#registry.getDevice(deviceId);
      if (device) credentials = await this.#registry.listCredentials(deviceId);
    } catch (error) {
      if (this.#pending.get(deviceId) !== ticket || this.#closed) return;
      this.#logger?.warn(
        { code: errorCode(error), deviceId },
        'registry did not answer; the device has no TLS-PSK key until it does',
      );
      this.#later(() => this.#refresh(deviceId));
      return;
    }
    if (this.#pending.get(deviceId) !== ticket || this.#closed) return;
    this.#pending.delete(deviceId);
    if (device && !this.#table.put(device, credentials, this.#now())) this.#refused(deviceId);
  }

  /** Reloads everything (after `resync`); the current table serves until the new one is complete. */
  async #reload(): Promise<void> {
    if (this.#changedDuringReload) {
      this.#reloadAgain = true;
      return;
    }
    this.#changedDuringReload = new Set();
    try {
      await this.#swapIn(await this.#readAll(false));
    } catch (error) {
      this.#changedDuringReload = undefined;
      if (this.#closed) return;
      // Changes may have been missed: no stale key may serve until a reload succeeds.
      this.#table = new Table(this.#maxBytes);
      this.#logger?.error(
        { code: errorCode(error) },
        'TLS-PSK keys not reloaded from the registry; every PSK handshake fails until they are',
      );
      this.#later(() => this.#reload());
      return;
    }
    if (this.#reloadAgain) {
      this.#reloadAgain = false;
      await this.#reload();
    }
  }

  async #swapIn(table: Table): Promise<void> {
    const changed = this.#changedDuringReload ?? new Set<string>();
    this.#changedDuringReload = undefined;
    if (this.#closed) return;
    this.#table = table;
    // Read before those changes maybe: drop and read again.
    for (const deviceId of changed) table.remove(deviceId);
    await Promise.all([...changed].map((deviceId) => this.#refresh(deviceId)));
  }

  /** Every device's live PSK credentials, paged; `strict` throws when they do not fit, else what fits is kept. */
  async #readAll(strict: boolean): Promise<Table> {
    const table = new Table(this.#maxBytes);
    let after: string | undefined;
    do {
      const page = await this.#registry.listDevices({
        limit: this.#pageSize,
        ...(after !== undefined && { after }),
      });
      const now = this.#now();
      const devices = page.devices.filter((device) => loadable(device, now));
      for (let i = 0; i < devices.length; i += this.#concurrency) {
        const chunk = devices.slice(i, i + this.#concurrency);
        const lists = await Promise.all(chunk.map((device) => this.#registry.listCredentials(device.id)));
        for (const [j, device] of chunk.entries()) {
          if (table.put(device, lists[j] ?? [], now)) continue;
          if (strict) {
            throw new PskKeysFullError(
              `the registry's TLS-PSK credentials need more than maxBytes (${this.#maxBytes} bytes, ${table.entries.size} identities loaded): raise maxBytes or revoke unused PSK credentials`,
            );
          }
          this.#refused(device.id);
        }
      }
      after = page.next;
    } while (after !== undefined);
    return table;
  }

  #refused(deviceId: string): void {
    this.#logger?.error(
      { code: 'ERR_PSK_KEYS_FULL', deviceId, maxBytes: this.#maxBytes },
      'TLS-PSK keys of the device not loaded: over maxBytes; its handshakes fail (raise maxBytes)',
    );
  }

  #later(run: () => Promise<void>): void {
    if (this.#closed) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      void run();
    }, this.#retryMs);
    timer.unref();
    this.#timers.add(timer);
  }
}

/** Enabled and not expired: worth holding (a not-yet-valid device is held, and refused until then). */
function loadable(device: PskRegistryDevice, now: number): boolean {
  return device.enabled && (device.expiresAt === undefined || device.expiresAt.getTime() > now);
}

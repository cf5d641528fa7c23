import { errorCode, UnavailableError } from '@mqtt-warden/core';
import type {
  CredentialLookup,
  Device,
  DeviceCredentials,
  RegistryChange,
  RegistryStore,
} from '@mqtt-warden/registry';
import { LRUCache } from 'lru-cache';

export interface RegistryCredentialsOptions {
  readonly store: RegistryStore;
  /** Bound of the cache in (estimated) bytes. Default 16 MiB. */
  readonly maxBytes?: number;
  /** Longest an entry is used without the store; the change feed normally drops it first. Default 60 s. */
  readonly ttlMs?: number;
  /**
   * While the store is unreachable, devices found in the last `graceMs` still verify (against the
   * credentials then found). Default 0: off, every verification answers "unavailable".
   */
  readonly graceMs?: number;
  /**
   * Longest wait for the store on one lookup, after which it answers "unavailable" (below the brokers'
   * authentication timeouts: EMQX waits 5 s). Default 3 s.
   */
  readonly timeoutMs?: number;
  /** Last-use records are written in batches this often. Default 5 s. */
  readonly touchIntervalMs?: number;
  readonly logger?: { warn(obj: object, msg?: string): void };
  /** Clock in ms; tests inject one. */
  readonly now?: () => number;
}

interface Entry {
  readonly found: DeviceCredentials | undefined;
}

const OVERHEAD_BYTES = 256;
/** Lookups of devices not found, bounded apart so that guessed names cannot evict the fleet. */
const MISSING_SHARE = 8;

/**
 * The server's read-through cache of registry credential lookups, for the authenticators. Bounded in
 * bytes; every entry of a device is dropped when the change feed reports that device or one of its
 * credentials, every "not found" when any device or credential changes (a device created a moment after
 * a refusal is found), everything on `resync`. While the store is unhealthy the cache is not used: a
 * lookup goes to the store and fails with `UnavailableError`, unless the device was found within the
 * grace period. It never answers "not found" for a store that could not answer.
 *
 * @example
 * ```ts
 * const credentials = new RegistryCredentials({ store });
 * store.onChange((change) => credentials.changed(change));
 * const found = await credentials.find({ kind: 'password', username: 'sensor-1' });
 * ```
 */
export class RegistryCredentials {
  readonly #store: RegistryStore;
  readonly #found: LRUCache<string, Entry>;
  readonly #missing: LRUCache<string, Entry>;
  readonly #grace: LRUCache<string, Entry> | undefined;
  /** Cache keys by device id, so a change drops exactly the entries of its device. */
  readonly #byDevice = new Map<string, Set<string>>();
  readonly #touched = new Map<string, Date>();
  readonly #timer: NodeJS.Timeout;
  readonly #logger: RegistryCredentialsOptions['logger'];
  readonly #now: () => number;
  readonly #timeoutMs: number;
  #healthy = true;
  /** Bumped by every change: a lookup that started before a change does not cache its (maybe stale) answer. */
  #generation = 0;

  constructor(options: RegistryCredentialsOptions) {
    this.#store = options.store;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#timeoutMs = options.timeoutMs ?? 3_000;
    const maxBytes = options.maxBytes ?? 16 * 2 ** 20;
    const ttl = options.ttlMs ?? 60_000;
    const perf = { now: this.#now };
    const sizeCalculation = (entry: Entry, key: string) => OVERHEAD_BYTES + 2 * (key.length + sizeOf(entry));
    this.#found = new LRUCache({
      maxSize: maxBytes,
      ttl,
      sizeCalculation,
      perf,
      dispose: (entry, key) => this.#unindex(entry, key),
    });
    this.#missing = new LRUCache({
      maxSize: Math.ceil(maxBytes / MISSING_SHARE),
      ttl,
      sizeCalculation,
      perf,
    });
    const graceMs = options.graceMs ?? 0;
    this.#grace =
      graceMs > 0 ? new LRUCache({ maxSize: maxBytes, ttl: graceMs, sizeCalculation, perf }) : undefined;
    this.#timer = setInterval(() => void this.flush(), options.touchIntervalMs ?? 5_000);
    this.#timer.unref();
  }

  /** The device and live credentials of a lookup; throws `UnavailableError` when the store cannot answer. */
  find(lookup: CredentialLookup): Promise<DeviceCredentials | undefined> {
    return this.#lookup(JSON.stringify(lookup), () => this.#store.findCredentials(lookup));
  }

  /** A device by id with all its credentials (revoked ones included); throws `UnavailableError` like {@link find}. */
  device(id: string): Promise<DeviceCredentials | undefined> {
    return this.#lookup(JSON.stringify({ kind: 'device', id }), async () => {
      const device = await this.#store.getDevice(id);
      return device && { device, credentials: await this.#store.listCredentials(id) };
    });
  }

  async #lookup(
    key: string,
    fetch: () => Promise<DeviceCredentials | undefined>,
  ): Promise<DeviceCredentials | undefined> {
    if (this.#healthy) {
      const cached = this.#found.get(key) ?? this.#missing.get(key);
      if (cached) return cached.found;
    }
    const generation = this.#generation;
    let found: DeviceCredentials | undefined;
    try {
      // Known down: answer at once (the ping notices the recovery) instead of every login waiting.
      if (!this.#healthy) throw new UnavailableError('the device registry is unreachable; try again later');
      found = await withTimeout(fetch(), this.#timeoutMs);
    } catch (error) {
      // A name no device can have (NUL bytes, oversized): not found, and no sign of an unhealthy store,
      // so a client cannot make the replica refuse everyone by sending one.
      if (errorCode(error) === 'ERR_INVALID_INPUT') return undefined;
      const graced = this.#grace?.get(key);
      this.setHealthy(false);
      if (graced) return graced.found;
      throw error instanceof UnavailableError
        ? error
        : new UnavailableError('the device registry did not answer; try again later', { cause: error });
    }
    const entry = { found };
    if (generation !== this.#generation) return found;
    if (found) {
      this.#found.set(key, entry);
      this.#index(found.device.id, key);
      this.#grace?.set(key, entry);
    } else this.#missing.set(key, entry);
    return found;
  }

  /** False after a lookup failed, until {@link setHealthy} hears the store answer again. */
  get healthy(): boolean {
    return this.#healthy;
  }

  /** Reports the store's health (the server's ping); on recovery every entry is dropped, since changes may have been missed. */
  setHealthy(healthy: boolean): void {
    if (healthy && !this.#healthy) this.clear();
    this.#healthy = healthy;
  }

  /** Drops what a committed change made stale. */
  changed(change: RegistryChange): void {
    this.#generation++;
    switch (change.kind) {
      case 'device':
      case 'credential':
        this.forgetDevice(change.deviceId);
        this.#missing.clear();
        return;
      case 'resync':
        this.clear();
        return;
      default:
        return;
    }
  }

  forgetDevice(deviceId: string): void {
    const keys = this.#byDevice.get(deviceId);
    if (!keys) return;
    this.#byDevice.delete(deviceId);
    for (const key of keys) {
      this.#found.delete(key);
      this.#grace?.delete(key);
    }
  }

  clear(): void {
    this.#generation++;
    this.#found.clear();
    this.#missing.clear();
    this.#grace?.clear();
    this.#byDevice.clear();
  }

  /** Records that a credential proved a login; written in the next batch. */
  touch(credentialId: string): void {
    // Bounded: under a flood of distinct credentials, records beyond 10,000 pending wait for a later login.
    if (this.#touched.size >= 10_000 && !this.#touched.has(credentialId)) return;
    this.#touched.set(credentialId, new Date(this.#now()));
  }

  /** Writes the pending last-use records. */
  async flush(): Promise<void> {
    if (this.#touched.size === 0 || !this.#healthy) return;
    const batch = [...this.#touched];
    this.#touched.clear();
    try {
      await Promise.all(batch.map(([id, at]) => this.#store.touchCredential(id, at)));
    } catch (error) {
      this.#logger?.warn({ code: errorCode(error) }, 'credential last-use not recorded');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }

  #index(deviceId: string, key: string): void {
    let keys = this.#byDevice.get(deviceId);
    if (!keys) {
      keys = new Set();
      this.#byDevice.set(deviceId, keys);
    }
    keys.add(key);
  }

  #unindex(entry: Entry, key: string): void {
    const id = entry.found?.device.id;
    const keys = id === undefined ? undefined : this.#byDevice.get(id);
    if (!keys || !id) return;
    keys.delete(key);
    if (keys.size === 0) this.#byDevice.delete(id);
  }
}

/** `promise`, or an `UnavailableError` after `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new UnavailableError(`the device registry did not answer within ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether a device may log in now: enabled and inside its validity window. */
export function deviceUsable(device: Device, now: number): boolean {
  return (
    device.enabled &&
    (device.notBefore === undefined || device.notBefore.getTime() <= now) &&
    (device.expiresAt === undefined || device.expiresAt.getTime() > now)
  );
}

/** Whether a credential may prove a login now: not revoked (a future revocation is an overlap) and not expired. */
export function credentialLive(
  credential: { readonly revokedAt?: Date; readonly expiresAt?: Date },
  now: number,
): boolean {
  return (
    (credential.revokedAt === undefined || credential.revokedAt.getTime() > now) &&
    (credential.expiresAt === undefined || credential.expiresAt.getTime() > now)
  );
}

/**
 * The attribute that marks a principal as a registry device's (its id): its sessions end when the device
 * changes. Only registry principals carry it (JWT claims become `claims.*`, certificates `cert.*`).
 */
export const REGISTRY_DEVICE_ATTRIBUTE = 'registry.device';

/** The principal attributes of a registry device: its own, plus `device.id` and {@link REGISTRY_DEVICE_ATTRIBUTE}. */
export function deviceAttributes(device: Device): Readonly<Record<string, string | readonly string[]>> {
  return { ...device.attributes, 'device.id': device.id, [REGISTRY_DEVICE_ATTRIBUTE]: device.id };
}

function sizeOf(entry: Entry): number {
  return JSON.stringify(entry, (_key, value: unknown) =>
    value instanceof Uint8Array ? value.byteLength : value,
  ).length;
}

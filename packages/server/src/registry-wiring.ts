import { errorCode, type Principal, UnavailableError } from '@mqtt-warden/core';
import type { RegistryChange, RegistryStore, SessionRecord } from '@mqtt-warden/registry';
import type { PrincipalDirectory, SharedSessions } from './principal-directory.js';
import {
  credentialLive,
  deviceAttributes,
  deviceUsable,
  type RegistryCredentials,
  withTimeout,
} from './registry-credentials.js';

export interface RegistryWiringOptions {
  readonly store: RegistryStore;
  readonly credentials: RegistryCredentials;
  readonly directory: PrincipalDirectory;
  /** Every other cache of the replica that must drop what changed (the guard's decision cache). */
  readonly clearDecisions: () => void;
  /** Reloads the device-token signing keys (another replica added one). */
  readonly refreshSigningKeys?: (() => Promise<void>) | undefined;
  /** How often the store is pinged for `/readyz` and recovery. Default 1 s. */
  readonly pingIntervalMs?: number;
  readonly logger: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

export interface RegistryWiring {
  /** True while the store answers pings. */
  readonly ready: () => boolean;
  close(): Promise<void>;
}

/**
 * Connects one replica's caches to the registry's change feed and health: a committed change to a
 * device or credential drops that device's credential lookups, its sessions here (checked again against
 * the store on their next request) and the decision cache (allows and denials); `resync` and a
 * recovery after the store was unreachable drop everything. A ping every second keeps `/readyz` honest.
 *
 * @example
 * ```ts
 * const wiring = wireRegistry({ store, credentials, directory, clearDecisions: () => guard.clearCache(), logger: app.log });
 * ```
 */
export function wireRegistry(options: RegistryWiringOptions): RegistryWiring {
  const { store, credentials, directory, clearDecisions, logger } = options;
  let ready = true;
  const refreshKeys = () =>
    options.refreshSigningKeys?.().catch((error: unknown) => {
      logger.warn(
        { code: errorCode(error) },
        'device-token signing keys not reloaded; keeping the previous ones',
      );
    });
  const unsubscribe = store.onChange((change: RegistryChange) => {
    credentials.changed(change);
    switch (change.kind) {
      case 'device':
      case 'credential':
        directory.forgetDevice(change.deviceId);
        clearDecisions();
        return;
      case 'resync':
        directory.clear();
        clearDecisions();
        refreshKeys();
        return;
      case 'signing-key':
        refreshKeys();
        return;
      default:
        return;
    }
  });
  const pingMs = options.pingIntervalMs ?? 1_000;
  let pinging = false;
  const timer = setInterval(async () => {
    if (pinging) return;
    pinging = true;
    const answered = await ping(store, pingMs);
    pinging = false;
    if (answered !== ready) {
      logger[answered ? 'info' : 'warn'](
        {},
        answered
          ? 'the device registry answers again; caches dropped'
          : 'the device registry does not answer; new logins are answered "unavailable"',
      );
      if (answered) {
        // Changes may have been committed while this replica did not hear them.
        directory.clear();
        clearDecisions();
      }
    }
    ready = answered;
    credentials.setHealthy(answered);
  }, pingMs);
  timer.unref();
  return {
    ready: () => ready,
    async close() {
      clearInterval(timer);
      unsubscribe();
      await credentials.close();
    },
  };
}

/** Whether the store answers within `timeoutMs`. */
function ping(store: RegistryStore, timeoutMs: number): Promise<boolean> {
  return withTimeout(store.ping(), timeoutMs).catch(() => false);
}

/**
 * Shared sessions in the registry. A session of a registry device proven by a SAS token or a certificate
 * (password sessions are checked against the password store instead), read back after the device
 * changed or on another replica, holds only while the device is usable, the client id is still one of its own,
 * its username unchanged, and one of its credentials live; its roles, groups and attributes are the
 * device's current ones.
 */
export function registrySessions(
  store: RegistryStore,
  credentials: RegistryCredentials,
  timeoutMs = 3_000,
  now: () => number = Date.now,
): SharedSessions {
  // Like credential lookups: at once "unavailable" while the store is known down, else bounded in time.
  const bounded = <T>(call: () => Promise<T>): Promise<T> =>
    credentials.healthy
      ? withTimeout(call(), timeoutMs)
      : Promise.reject(new UnavailableError('the device registry is unreachable; try again later'));
  return {
    store: {
      putSession: (record) => bounded(() => store.putSession(record)),
      getSession: (username, clientId) => bounded(() => store.getSession(username, clientId)),
      deleteSession: (username, clientId) => bounded(() => store.deleteSession(username, clientId)),
    },
    async revalidate(record: SessionRecord): Promise<Principal | undefined> {
      const { deviceId } = record;
      if (deviceId === undefined) return record.principal;
      const device = await bounded(() => store.getDevice(deviceId));
      const t = now();
      const { principal } = record;
      if (!device || !deviceUsable(device, t) || !device.clientIds.includes(record.clientId))
        return undefined;
      if (principal.username !== undefined && principal.username !== device.username) return undefined;
      const held = await bounded(() => store.listCredentials(device.id));
      if (!held.some((credential) => credentialLive(credential, t))) return undefined;
      // The verifier's own attributes (cert.*, sas.*) stay; the device's are its current ones.
      const attributes = { ...principal.attributes, ...deviceAttributes(device) };
      const expiresAt = Math.min(
        principal.expiresAt ?? Number.POSITIVE_INFINITY,
        device.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY,
      );
      return {
        ...principal,
        roles: device.roles,
        groups: device.groups,
        attributes,
        ...(Number.isFinite(expiresAt) ? { expiresAt } : {}),
      };
    },
  };
}

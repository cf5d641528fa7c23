import { errorCode } from '@mqtt-warden/core';
import type { Device, RegistryChange, RegistryStore } from '@mqtt-warden/registry';
import type { BrokerConnector, DeviceSessions } from './broker-connector.js';
import { RetryQueue, type RetryQueueOptions, type RetryQueueStats } from './retry-queue.js';

/** Where failures are reported (pino fits). */
export interface ConnectorLogger {
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface FollowChangesOptions extends Omit<RetryQueueOptions, 'onFailure'> {
  readonly connectors: readonly BrokerConnector[];
  readonly log?: ConnectorLogger;
  /** Clock; tests inject one. */
  readonly now?: () => Date;
}

/** A running {@link followChanges}. */
export interface ConnectorFeed {
  /** Counters of the work done for the connectors (failures are also logged by code). */
  readonly stats: RetryQueueStats;
  /** Resolves when every change heard so far has been handled, given up or dropped. */
  idle(): Promise<void>;
  /** Stops listening and drops waiting work. */
  close(): void;
}

/** The registry's reads that decide what a change means for connected devices. */
type ChangeReader = Pick<RegistryStore, 'getDevice' | 'listCredentials' | 'onChange'>;

/**
 * Tells brokers about registry changes, in the background: a device deleted, disabled, expired or
 * not yet valid, or whose credential was revoked, is disconnected from every broker; a device that
 * changed otherwise (roles, attributes) has its cached permissions refreshed; a newly active policy
 * (or a feed resynchronisation) refreshes every client's cached permissions. Each broker call is retried
 * with exponential back-off; failures are logged by code and counted, and decisions never wait for them.
 *
 * @example
 * ```ts
 * const feed = followChanges(store, { connectors: [createEmqxConnector({ url, apiKey, apiSecret })], log });
 * // later
 * feed.close();
 * ```
 */
export function followChanges(store: ChangeReader, options: FollowChangesOptions): ConnectorFeed {
  const now = options.now ?? (() => new Date());
  const { connectors, log } = options;
  const queue = new RetryQueue({
    ...options,
    onFailure(key, error, attempt, willRetry) {
      const fields = { job: key, attempt, code: errorCode(error) };
      if (willRetry) log?.warn(fields, 'broker connector failed; retrying');
      else log?.error(fields, 'broker connector failed; giving up');
    },
  });

  function toAll(action: 'disconnect' | 'refresh', device: DeviceSessions, id: string): void {
    for (const connector of connectors) {
      queue.push(`${connector.name}:${action}:${id}`, () => connector[action](device));
    }
  }

  async function deviceChanged(deviceId: string, username: string | undefined): Promise<void> {
    const device = await store.getDevice(deviceId);
    if (device === undefined) {
      // Deleted: its registration is gone, so close what its id and last known username name.
      toAll('disconnect', { username: username ?? deviceId, clientIds: [deviceId] }, deviceId);
      return;
    }
    const sessions = { username: device.username, clientIds: device.clientIds };
    toAll(mayConnect(device, now()) ? 'refresh' : 'disconnect', sessions, deviceId);
    if (username !== undefined && username !== device.username) {
      // Renamed: connections under the old name were not made by the device as it is now.
      toAll('disconnect', { username, clientIds: [] }, `${deviceId}@${username}`);
    }
  }

  async function credentialChanged(deviceId: string, credentialId: string): Promise<void> {
    const credential = (await store.listCredentials(deviceId)).find((c) => c.id === credentialId);
    // A new credential takes nothing away; a revoked or deleted one may be what a connection logged in with.
    if (credential !== undefined && (credential.revokedAt === undefined || credential.revokedAt > now()))
      return;
    const device = await store.getDevice(deviceId);
    if (device !== undefined) {
      toAll('disconnect', { username: device.username, clientIds: device.clientIds }, deviceId);
    }
  }

  function changed(change: RegistryChange): void {
    switch (change.kind) {
      case 'device':
        queue.push(`device:${change.deviceId}`, () => deviceChanged(change.deviceId, change.username));
        break;
      case 'credential':
        queue.push(`credential:${change.credentialId}`, () =>
          credentialChanged(change.deviceId, change.credentialId),
        );
        break;
      case 'policy':
      case 'resync':
        for (const connector of connectors) {
          queue.push(`${connector.name}:refresh-all`, () => connector.refreshAll());
        }
        break;
      default:
      // Sessions, signing keys and admin tokens are not the brokers' business.
    }
  }

  const stop = connectors.length > 0 ? store.onChange(changed) : () => {};
  return {
    get stats() {
      return queue.stats;
    },
    idle: () => queue.idle(),
    close() {
      stop();
      queue.close();
    },
  };
}

/** Whether the device may log in now (enabled, inside its validity window). */
function mayConnect(device: Device, at: Date): boolean {
  return (
    device.enabled &&
    (device.notBefore === undefined || device.notBefore <= at) &&
    (device.expiresAt === undefined || device.expiresAt > at)
  );
}

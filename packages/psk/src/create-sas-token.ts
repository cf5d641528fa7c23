import { ConfigError } from '@mqtt-warden/core';
import { encodeStrict, keyBytes, SAS_TOKEN_PREFIX, signSasToken } from './sas-token.js';

/** What {@link createSasToken} signs. */
export interface CreateSasTokenOptions {
  /** IoT hub host name, e.g. `myhub.azure-devices.net`. */
  readonly hostName: string;
  readonly deviceId: string;
  /** The device's key: base64 (as Azure shows it) or raw bytes. */
  readonly key: string | Uint8Array;
  /** Expiry, as a Date or in seconds since the epoch; defaults to `ttlSeconds` from now. */
  readonly expiresAt?: Date | number;
  /** Lifetime when `expiresAt` is not given; default 3600 s. */
  readonly ttlSeconds?: number;
  /** Shared access policy name (`skn`); only for hub-level policy keys, never for device keys. */
  readonly policyName?: string;
  /** Clock in ms, for tests. */
  readonly now?: () => number;
}

/**
 * Creates an Azure IoT Hub compatible SAS token for a device, as the Azure SDKs do:
 * `sr` = strict URL-encoding of `{hostName}/devices/{deviceId}`,
 * `sig` = URL-encoded base64 HMAC-SHA256(key, sr + "\n" + se). The device sends it as the MQTT password.
 *
 * @example
 * ```ts
 * const password = createSasToken({ hostName: 'hub.example.com', deviceId: 'dev1', key: deviceKey, ttlSeconds: 600 });
 * ```
 */
export function createSasToken(options: CreateSasTokenOptions): string {
  const { hostName, deviceId, policyName } = options;
  if (!hostName || !deviceId) throw new ConfigError('hostName and deviceId are required');
  const now = options.now ?? Date.now;
  const expiresAt = options.expiresAt ?? now() / 1000 + (options.ttlSeconds ?? 3600);
  const se = String(Math.floor(expiresAt instanceof Date ? expiresAt.getTime() / 1000 : expiresAt));
  const sr = encodeStrict(`${hostName}/devices/${deviceId}`);
  const sig = encodeStrict(signSasToken(keyBytes(options.key), sr, se).toString('base64'));
  const skn = policyName === undefined ? '' : `&skn=${encodeStrict(policyName)}`;
  return `${SAS_TOKEN_PREFIX}sr=${sr}&sig=${sig}&se=${se}${skn}`;
}

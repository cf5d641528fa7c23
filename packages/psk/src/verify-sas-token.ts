import { timingSafeEqual } from 'node:crypto';
import { SasTokenError } from './errors.js';
import { keyBytes, parseSasToken, signSasToken } from './sas-token.js';

/** Options of {@link verifySasToken}. */
export interface VerifySasTokenOptions {
  /**
   * The key of a device (base64 string or bytes), or undefined when the device is unknown.
   * `policyName` is the token's `skn`; return undefined for it unless policy tokens are wanted.
   */
  readonly getKey: (
    deviceId: string,
    policyName: string | undefined,
  ) => string | Uint8Array | undefined | Promise<string | Uint8Array | undefined>;
  /** The hub host name that `sr` must name (compared case-insensitively); any host when absent. */
  readonly hostName?: string;
  /** Clock in ms, for tests. */
  readonly now?: () => number;
}

/** A verified token. */
export interface VerifiedSasToken {
  readonly deviceId: string;
  readonly hostName: string;
  /** The token's `se`, in ms since the epoch. */
  readonly expiresAt: number;
  readonly policyName?: string;
}

// Unknown devices still cost one HMAC, so that timing does not tell which device ids exist.
const DUMMY_KEY = new Uint8Array(32);

/**
 * Verifies an Azure IoT Hub style SAS token: the resource binding (`sr` must be
 * `{hostName}/devices/{deviceId}`), the HMAC-SHA256 signature over the raw `sr` and `se`
 * (constant-time compare), then the expiry.
 *
 * @throws {SasTokenError} `ERR_SAS_TOKEN_MALFORMED`, `ERR_SAS_TOKEN_RESOURCE`, `ERR_SAS_TOKEN_UNKNOWN_DEVICE`,
 *   `ERR_SAS_TOKEN_SIGNATURE` or `ERR_SAS_TOKEN_EXPIRED`.
 * @example
 * ```ts
 * const { deviceId, expiresAt } = await verifySasToken(password, { hostName: 'hub.example.com', getKey: (id) => store.get(id) });
 * ```
 */
export async function verifySasToken(
  token: string,
  options: VerifySasTokenOptions,
): Promise<VerifiedSasToken> {
  const { sr, sig, se, skn } = parseSasToken(token);
  let resource: string;
  let policyName: string | undefined;
  let provided: Buffer;
  try {
    resource = decodeURIComponent(sr);
    policyName = skn === undefined ? undefined : decodeURIComponent(skn);
    provided = Buffer.from(decodeURIComponent(sig), 'base64');
  } catch {
    throw new SasTokenError('ERR_SAS_TOKEN_MALFORMED', 'the SAS token has an invalid URL encoding');
  }
  if (!/^[0-9]{1,12}$/.test(se)) {
    throw new SasTokenError('ERR_SAS_TOKEN_MALFORMED', 'se must be the expiry in seconds since 1970');
  }
  const match = /^([^/]+)\/devices\/([^/]+)$/.exec(resource);
  if (!match) {
    throw new SasTokenError('ERR_SAS_TOKEN_RESOURCE', 'sr must be "{hostName}/devices/{deviceId}"');
  }
  const [, hostName = '', deviceId = ''] = match;
  if (options.hostName !== undefined && hostName.toLowerCase() !== options.hostName.toLowerCase()) {
    throw new SasTokenError('ERR_SAS_TOKEN_RESOURCE', 'the SAS token was issued for another host');
  }
  const key = await options.getKey(deviceId, policyName);
  const expected = signSasToken(key === undefined ? DUMMY_KEY : keyBytes(key), sr, se);
  if (key === undefined) {
    throw new SasTokenError('ERR_SAS_TOKEN_UNKNOWN_DEVICE', 'no key is known for this device');
  }
  if (provided.length !== expected.length || !timingSafeEqual(provided, expected)) {
    throw new SasTokenError(
      'ERR_SAS_TOKEN_SIGNATURE',
      'the SAS token signature does not match the device key',
    );
  }
  const expiresAt = Number(se) * 1000;
  if (expiresAt <= (options.now ?? Date.now)()) {
    throw new SasTokenError('ERR_SAS_TOKEN_EXPIRED', 'the SAS token has expired; create a new one');
  }
  return policyName === undefined
    ? { deviceId, hostName, expiresAt }
    : { deviceId, hostName, expiresAt, policyName };
}

/** Test credentials built with node:crypto only, independently of jose and of the packages under test. */
import { createHmac, type KeyObject, sign } from 'node:crypto';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Signs a compact JWS with node:crypto only (independent of jose and of the packages under test):
 * HS256 with a string secret, RS256 or ES256 with a private KeyObject.
 */
export function signJwt(
  payload: Record<string, unknown>,
  key: string | KeyObject,
  header: Record<string, unknown> = {},
): string {
  const alg = typeof key === 'string' ? 'HS256' : key.asymmetricKeyType === 'ec' ? 'ES256' : 'RS256';
  const input = `${b64url({ alg, typ: 'JWT', ...header })}.${b64url(payload)}`;
  const signature =
    typeof key === 'string'
      ? createHmac('sha256', key).update(input).digest()
      : sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

/** Seconds since the epoch, offset by `delta`. */
export const epoch = (delta = 0) => Math.floor(Date.now() / 1000) + delta;

/** The token with one character of its payload changed (signature left as it was). */
export function tamper(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  claims.roles = [...(claims.roles ?? []), 'admin'];
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
}

/** An Azure IoT Hub SAS token computed with node:crypto, independently of @mqtt-warden/psk. */
export function sasToken(deviceId: string, key: Buffer, expiry = epoch(600)): string {
  const sr = encodeURIComponent(`hub.example.com/devices/${deviceId}`);
  const sig = createHmac('sha256', key).update(`${sr}\n${expiry}`).digest('base64');
  return `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(sig)}&se=${expiry}`;
}

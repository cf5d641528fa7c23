import { createHmac } from 'node:crypto';
import { ConfigError } from '@mqtt-warden/core';
import { SasTokenError } from './errors.js';

/** `SharedAccessSignature ` prefix of every token (Azure IoT Hub, Event Hubs, Service Bus). */
export const SAS_TOKEN_PREFIX = 'SharedAccessSignature ';

/** The raw fields of a token, still URL-encoded as they appear in it. */
export interface SasTokenFields {
  readonly sr: string;
  readonly sig: string;
  readonly se: string;
  readonly skn?: string;
}

/** encodeURIComponent that also escapes `!'()*`, as the Azure SDKs do (`encodeUriComponentStrict`). */
export function encodeStrict(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** HMAC-SHA256 over the token's string-to-sign: the URL-encoded `sr` as written, `\n`, then `se`. */
export function signSasToken(key: Uint8Array, sr: string, se: string): Buffer {
  return createHmac('sha256', key).update(`${sr}\n${se}`).digest();
}

/** Device keys are given as Azure shows them (base64) or as raw bytes. */
export function keyBytes(key: string | Uint8Array): Uint8Array {
  if (typeof key !== 'string') return key;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(key)) throw new ConfigError('a device key string must be base64');
  return Buffer.from(key, 'base64');
}

/** Splits `SharedAccessSignature sr=…&sig=…&se=…[&skn=…]`, in any order; refuses duplicates and unknown fields. */
export function parseSasToken(token: string): SasTokenFields {
  if (!token.startsWith(SAS_TOKEN_PREFIX)) {
    throw new SasTokenError('ERR_SAS_TOKEN_MALFORMED', 'a SAS token starts with "SharedAccessSignature "');
  }
  const fields: Record<string, string> = {};
  for (const pair of token.slice(SAS_TOKEN_PREFIX.length).split('&')) {
    const at = pair.indexOf('=');
    const name = at < 0 ? pair : pair.slice(0, at);
    if (!['sr', 'sig', 'se', 'skn'].includes(name) || at < 0 || Object.hasOwn(fields, name)) {
      throw new SasTokenError(
        'ERR_SAS_TOKEN_MALFORMED',
        'a SAS token holds sr, sig and se, and optionally skn, each once',
      );
    }
    fields[name] = pair.slice(at + 1);
  }
  const { sr, sig, se, skn } = fields;
  if (!sr || !sig || !se) {
    throw new SasTokenError('ERR_SAS_TOKEN_MALFORMED', 'a SAS token needs non-empty sr, sig and se');
  }
  return skn === undefined ? { sr, sig, se } : { sr, sig, se, skn };
}

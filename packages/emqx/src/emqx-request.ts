import { isIP } from 'node:net';
import { isMqttString, MQTT_STRING_MESSAGE } from '@mqtt-warden/core';
import { z } from 'zod';

/**
 * The values EMQX can put in an HTTP request, by placeholder name (`${username}` → `username`).
 * EMQX renders every value as a string and an unknown value as `""`, so `""` means absent.
 */
const optional = z.string().max(65_535).optional();
const ip = z
  .string()
  .refine((v) => v === '' || isIP(v) !== 0, 'must be an IP address')
  .optional();
const base64 = z
  .string()
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64 (EMQX sends cert_pem as base64 DER)')
  .optional();

const mqttString = optional.refine((v) => v === undefined || isMqttString(v), MQTT_STRING_MESSAGE);

const common = {
  username: mqttString,
  clientid: mqttString,
  peerhost: ip,
  peerport: z
    .string()
    .regex(/^\d{0,5}$/, 'must be a port number')
    .optional(),
  cert_subject: optional,
  cert_common_name: optional,
  cert_pem: base64,
  zone: optional,
  listener: optional,
};

/** Keys EMQX users add to their templates and the adapter does not read are stripped (and logged). */
export const authnSchema = z.object({ ...common, password: optional });

export const authzSchema = z.object({
  ...common,
  topic: z.string().min(1, 'must not be empty').max(65_535),
  action: z.enum(['publish', 'subscribe']).optional(),
  access: z.enum(['1', '2']).optional(),
  qos: z.enum(['0', '1', '2', '']).optional(),
  retain: z.enum(['true', 'false', '']).optional(),
  proto_name: optional,
  mountpoint: optional,
});

export type AuthnFields = z.infer<typeof authnSchema>;
export type AuthzFields = z.infer<typeof authzSchema>;

const CLIENT_ATTR = /^client_attrs\.([A-Za-z0-9][A-Za-z0-9_-]*)$/;

/** A request split into its known fields and its `client_attrs.NAME` values. */
export interface RawEmqxRequest {
  readonly fields: Record<string, unknown>;
  readonly clientAttrs: Record<string, string>;
  /** Placeholder name → the request key that carried it. */
  readonly keys: Readonly<Record<string, string>>;
}

/**
 * Takes the query or body EMQX sent, renames keys of a user template to placeholder names
 * (`fields`: request key → placeholder) and sets `client_attrs.NAME` keys apart.
 */
export function splitRequest(
  input: unknown,
  rename: Readonly<Record<string, string>>,
): RawEmqxRequest | string {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return 'the request must carry an object of string values (a JSON object, a form or a query string)';
  }
  const fields: Record<string, unknown> = {};
  const clientAttrs: Record<string, string> = {};
  const keys: Record<string, string> = Object.create(null);
  for (const [key, value] of Object.entries(input)) {
    const name = Object.hasOwn(rename, key) ? (rename[key] as string) : key;
    if (keys[name] !== undefined) return `${keys[name]} and ${key} both give ${name}; send one of them`;
    keys[name] = key;
    const attr = CLIENT_ATTR.exec(name);
    if (attr) {
      if (typeof value !== 'string') return `${key}: must be a string`;
      if (value !== '') clientAttrs[attr[1] as string] = value;
    } else {
      fields[name] = value;
    }
  }
  return { fields, clientAttrs, keys };
}

const NO_KEYS: Readonly<Record<string, string>> = Object.freeze(Object.create(null));

/**
 * {@link splitRequest} of a JSON body when no keys are renamed, without copying: the body itself is the
 * fields unless one of its keys sets a client attribute apart. `keys` is empty (each key names itself),
 * so this is not for forms, whose undecodable keys are looked up through it.
 */
export function splitJsonRequest(input: unknown): RawEmqxRequest | string {
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    const record = input as Record<string, unknown>;
    let attrs = false;
    for (const key of Object.keys(record)) {
      if (key.startsWith('client_attrs.')) {
        attrs = true;
        break;
      }
    }
    if (!attrs) return { fields: record, clientAttrs: {}, keys: NO_KEYS };
  }
  return splitRequest(input, NO_KEYS);
}

/** `""` is how EMQX renders a missing value. */
export function present(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

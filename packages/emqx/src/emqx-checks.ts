import { isIP } from 'node:net';
import { isMqttString } from '@mqtt-warden/core';
import type { AuthnFields, AuthzFields } from './emqx-request.js';

// Hand-written equivalents of authnSchema and authzSchema (emqx-request.ts) for the hot path: the same
// inputs pass and give the same fields (test/emqx-checks.test.ts proves it on generated input). A
// refusal is worded by the schema itself.

const MAX = 65_535;
const PORT = /^\d{0,5}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const optional = (v: unknown) => v === undefined || (typeof v === 'string' && v.length <= MAX);
const mqtt = (v: unknown) => v === undefined || (typeof v === 'string' && v.length <= MAX && isMqttString(v));
const ip = (v: unknown) => v === undefined || (typeof v === 'string' && (v === '' || isIP(v) !== 0));
const port = (v: unknown) => v === undefined || (typeof v === 'string' && PORT.test(v));
const base64 = (v: unknown) => v === undefined || (typeof v === 'string' && BASE64.test(v));
const oneOf = (values: readonly string[]) => (v: unknown) =>
  v === undefined || (typeof v === 'string' && values.includes(v));

type Check = (value: unknown) => boolean;

const COMMON: Record<string, Check> = {
  username: mqtt,
  clientid: mqtt,
  peerhost: ip,
  peerport: port,
  cert_subject: optional,
  cert_common_name: optional,
  cert_pem: base64,
  zone: optional,
  listener: optional,
};

const AUTHN = Object.entries({ ...COMMON, password: optional });
const AUTHZ = Object.entries({
  ...COMMON,
  topic: (v: unknown) => typeof v === 'string' && v.length >= 1 && v.length <= MAX,
  action: oneOf(['publish', 'subscribe']),
  access: oneOf(['1', '2']),
  qos: oneOf(['0', '1', '2', '']),
  retain: oneOf(['true', 'false', '']),
  proto_name: optional,
  mountpoint: optional,
} satisfies Record<string, Check>);

/**
 * `authnSchema.safeParse(input).data`, or undefined where the schema refuses `input`.
 *
 * @example
 * ```ts
 * checkAuthn({ username: 'dev1', password: 'pw', extra: 1 }); // { username: 'dev1', password: 'pw' }
 * ```
 */
export function checkAuthn(input: unknown): AuthnFields | undefined {
  return check(input, AUTHN) as AuthnFields | undefined;
}

/**
 * `authzSchema.safeParse(input).data`, or undefined where the schema refuses `input`.
 *
 * @example
 * ```ts
 * checkAuthz({ username: 'dev1', topic: 't', action: 'publish' }); // the same fields
 * checkAuthz({ username: 'dev1', topic: '' }); // undefined
 * ```
 */
export function checkAuthz(input: unknown): AuthzFields | undefined {
  return check(input, AUTHZ) as AuthzFields | undefined;
}

/** Like zod's `z.object`: an object that is not an array; unknown keys are dropped. */
function check(input: unknown, shape: readonly [string, Check][]): Record<string, unknown> | undefined {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return undefined;
  const record = input as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, valid] of shape) {
    const value = record[key];
    if (!valid(value)) return undefined;
    if (value !== undefined) out[key] = value;
  }
  return out;
}

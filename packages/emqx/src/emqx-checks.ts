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

/**
 * The fields EMQX requests of both kinds carry, checked into `out`; false when one is refused. Named
 * loads and stores, not a loop over key names: a keyed access by a varying name is megamorphic and cost
 * most of a cached authorization in process.
 */
function checkCommon(input: Record<string, unknown>, out: Record<string, unknown>): boolean {
  const { username, clientid, peerhost, peerport, cert_subject, cert_common_name, cert_pem, zone, listener } =
    input;
  if (
    !mqtt(username) ||
    !mqtt(clientid) ||
    !ip(peerhost) ||
    !port(peerport) ||
    !optional(cert_subject) ||
    !optional(cert_common_name) ||
    !base64(cert_pem) ||
    !optional(zone) ||
    !optional(listener)
  ) {
    return false;
  }
  if (username !== undefined) out.username = username;
  if (clientid !== undefined) out.clientid = clientid;
  if (peerhost !== undefined) out.peerhost = peerhost;
  if (peerport !== undefined) out.peerport = peerport;
  if (cert_subject !== undefined) out.cert_subject = cert_subject;
  if (cert_common_name !== undefined) out.cert_common_name = cert_common_name;
  if (cert_pem !== undefined) out.cert_pem = cert_pem;
  if (zone !== undefined) out.zone = zone;
  if (listener !== undefined) out.listener = listener;
  return true;
}

const action = oneOf(['publish', 'subscribe']);
const access = oneOf(['1', '2']);
const qos = oneOf(['0', '1', '2', '']);
const retain = oneOf(['true', 'false', '']);

/**
 * `authnSchema.safeParse(input).data`, or undefined where the schema refuses `input`.
 *
 * @example
 * ```ts
 * checkAuthn({ username: 'dev1', password: 'pw', extra: 1 }); // { username: 'dev1', password: 'pw' }
 * ```
 */
export function checkAuthn(input: unknown): AuthnFields | undefined {
  const record = objectOf(input);
  if (record === undefined) return undefined;
  const out: Record<string, unknown> = {};
  if (!checkCommon(record, out)) return undefined;
  const { password } = record;
  if (!optional(password)) return undefined;
  if (password !== undefined) out.password = password;
  return out as AuthnFields;
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
  const record = objectOf(input);
  if (record === undefined) return undefined;
  const out: Record<string, unknown> = {};
  if (!checkCommon(record, out)) return undefined;
  const { topic } = record;
  if (typeof topic !== 'string' || topic.length < 1 || topic.length > MAX) return undefined;
  out.topic = topic;
  const { action: act, access: acc, qos: q, retain: ret, proto_name, mountpoint } = record;
  if (
    !action(act) ||
    !access(acc) ||
    !qos(q) ||
    !retain(ret) ||
    !optional(proto_name) ||
    !optional(mountpoint)
  )
    return undefined;
  if (act !== undefined) out.action = act;
  if (acc !== undefined) out.access = acc;
  if (q !== undefined) out.qos = q;
  if (ret !== undefined) out.retain = ret;
  if (proto_name !== undefined) out.proto_name = proto_name;
  if (mountpoint !== undefined) out.mountpoint = mountpoint;
  return out as AuthzFields;
}

/** Like zod's `z.object`: an object that is not an array; unknown keys are dropped. */
function objectOf(input: unknown): Record<string, unknown> | undefined {
  return typeof input !== 'object' || input === null || Array.isArray(input)
    ? undefined
    : (input as Record<string, unknown>);
}

import { isMqttString } from '@mqtt-warden/core';
import type { AclFields } from './go-auth-request.js';

// Hand-written equivalents of the go-auth schemas (go-auth-request.ts) for the hot path: the same
// inputs pass and give the same fields (test/go-auth-checks.test.ts proves it on generated input). A
// refusal is worded by the schema itself.

const MAX = 65_535;
const DECIMAL = /^\d+$/;

const text = (v: unknown): v is string => typeof v === 'string' && v.length <= MAX;
const mqtt = (v: unknown): v is string => text(v) && isMqttString(v);
const record = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** `acc` as a JSON number or a decimal string, 1 to 4. */
function acc(v: unknown): AclFields['acc'] | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && DECIMAL.test(v) ? Number(v) : undefined;
  return n === 1 || n === 2 || n === 3 || n === 4 ? n : undefined;
}

/**
 * `aclSchema.safeParse(input).data`, or undefined where the schema refuses `input`.
 *
 * @example
 * ```ts
 * checkAcl({ username: 'u', clientid: 'c', topic: 't', acc: '2' }); // { …, acc: 2 }
 * checkAcl({ username: 'u', clientid: 'c', topic: 't', acc: 5 }); // undefined
 * ```
 */
export function checkAcl(input: unknown): AclFields | undefined {
  if (!record(input)) return undefined;
  const { username, clientid, topic } = input;
  if (!mqtt(username) || !mqtt(clientid) || !text(topic) || topic.length === 0) return undefined;
  const code = acc(input.acc);
  return code === undefined ? undefined : { username, clientid, topic, acc: code };
}

/**
 * `userSchema.safeParse(input).data`, or undefined where the schema refuses `input`.
 *
 * @example
 * ```ts
 * checkUser({ username: 'u', password: 'pw', clientid: 'c' }); // the same fields
 * ```
 */
export function checkUser(
  input: unknown,
): { username: string; password: string; clientid: string } | undefined {
  if (!record(input)) return undefined;
  const { username, password, clientid } = input;
  return mqtt(username) && text(password) && mqtt(clientid) ? { username, password, clientid } : undefined;
}

/**
 * `superuserSchema.safeParse(input).data`, or undefined where the schema refuses `input`.
 *
 * @example
 * ```ts
 * checkSuperuser({ username: 'u\u0000' }); // undefined
 * ```
 */
export function checkSuperuser(input: unknown): { username: string } | undefined {
  if (!record(input)) return undefined;
  const { username } = input;
  return mqtt(username) ? { username } : undefined;
}

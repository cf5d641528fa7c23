import { isMqttString } from '@mqtt-warden/core';
import type { AclFields } from './go-auth-request.js';

// Hand-written equivalents of the go-auth schemas (go-auth-request.ts) for the hot path: the same
// inputs pass and give the same fields (test/go-auth-checks.test.ts proves it on generated input). A
// refusal is worded by the schema itself.

const MAX = 65_535;
const DECIMAL = /^\d+$/;

const text = (v: unknown): v is string => typeof v === 'string' && v.length <= MAX;
const mqtt = (v: unknown): v is string => text(v) && isMqttString(v);
/** A body the schemas read fields of: an object, not an array. */
export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The `acc` of the ACL fields the schema takes (`acc` a JSON number or a decimal string, 1 to 4), or 0
 * where it refuses them. The fields come read once each from the body, so the caller keeps them as they
 * were checked and copies nothing.
 *
 * @example
 * ```ts
 * aclAcc('u', 'c', 't', '2'); // 2
 * aclAcc('u', 'c', '', 2); // 0: the topic is empty
 * ```
 */
export function aclAcc(
  username: unknown,
  clientid: unknown,
  topic: unknown,
  acc: unknown,
): AclFields['acc'] | 0 {
  if (!mqtt(username) || !mqtt(clientid) || !text(topic) || topic.length === 0) return 0;
  const n =
    typeof acc === 'number' ? acc : typeof acc === 'string' && DECIMAL.test(acc) ? Number(acc) : undefined;
  return n === 1 || n === 2 || n === 3 || n === 4 ? n : 0;
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
  if (!isRecord(input)) return undefined;
  const { username, clientid, topic } = input;
  const acc = aclAcc(username, clientid, topic, input.acc);
  if (acc === 0) return undefined;
  return { username: username as string, clientid: clientid as string, topic: topic as string, acc };
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
  if (!isRecord(input)) return undefined;
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
  if (!isRecord(input)) return undefined;
  const { username } = input;
  return mqtt(username) ? { username } : undefined;
}

import { isIP } from 'node:net';
import { PlainFormKeys } from '@mqtt-warden/core';
import type { z } from 'zod';
import type { resourceSchema, topicSchema, userSchema, vhostSchema } from './rabbitmq-request.js';

// Hand-written equivalents of the RabbitMQ schemas (rabbitmq-request.ts) for the hot path: the same
// inputs pass and give the same fields (test/rabbitmq-checks.test.ts proves it on generated input). A
// refusal is worded by the schema itself.

/**
 * A hand-written check of one schema: on an object, as the schema checks it, or on the values of a
 * plain form (`readPlainFormValues` with its `keys`), without building an object.
 */
export interface FieldCheck<T> {
  (input: unknown): T | undefined;
  /** The schema's keys, in the order of the values. */
  readonly keys: PlainFormKeys;
  /** The index of each key in the values. */
  readonly at: { readonly [K in keyof T]-?: number };
  /** Whether the values of a plain form pass: as `check(readPlainForm(body, keys))` does. */
  values(values: readonly (string | undefined)[]): boolean;
}

type Check = (value: unknown) => boolean;

const MAX = 65_535;
const text: Check = (v) => typeof v === 'string' && v.length <= MAX;
const optional =
  (check: Check): Check =>
  (v) =>
    v === undefined || check(v);
const oneOf =
  (...values: string[]): Check =>
  (v) =>
    typeof v === 'string' && values.includes(v);
const ip: Check = (v) => typeof v === 'string' && isIP(v) !== 0;

const USER = { username: text, password: optional(text), vhost: optional(text), client_id: optional(text) };
const VHOST = {
  username: text,
  vhost: text,
  ip: optional(ip),
  tags: optional(text),
  client_id: optional(text),
};
const RESOURCE = {
  username: text,
  vhost: text,
  resource: oneOf('exchange', 'queue', 'topic'),
  name: text,
  permission: oneOf('configure', 'write', 'read'),
  tags: optional(text),
  client_id: optional(text),
};
const TOPIC = {
  username: text,
  vhost: text,
  resource: oneOf('topic'),
  name: text,
  permission: oneOf('write', 'read'),
  tags: optional(text),
  routing_key: (v: unknown) => text(v) && (v as string).length >= 1,
  'variable_map.client_id': optional(text),
  'variable_map.username': optional(text),
  'variable_map.vhost': optional(text),
};

/** `userSchema.safeParse(input).data`, or undefined where the schema refuses `input`. */
export const checkUser: FieldCheck<z.infer<typeof userSchema>> = strict(USER);
/** `vhostSchema.safeParse(input).data`, or undefined where the schema refuses `input`. */
export const checkVhost: FieldCheck<z.infer<typeof vhostSchema>> = strict(VHOST);
/** `resourceSchema.safeParse(input).data`, or undefined where the schema refuses `input`. */
export const checkResource: FieldCheck<z.infer<typeof resourceSchema>> = strict(RESOURCE);
/**
 * `topicSchema.safeParse(input).data`, or undefined where the schema refuses `input`.
 *
 * @example
 * ```ts
 * checkTopic(UrlEncodedForm.parse('username=u&vhost=%2F&resource=topic&name=amq.topic&permission=read&routing_key=a.b').fields);
 * checkTopic({ ...fields, extra: 'x' }); // undefined: the set of keys is closed
 * ```
 */
export const checkTopic: FieldCheck<z.infer<typeof topicSchema>> = strict(TOPIC);

/** Like zod's `z.strictObject`: an object that is not an array, with no key outside the shape. */
function strict<T>(shape: Record<string, Check>): FieldCheck<T> {
  const entries = Object.entries(shape);
  const names = Object.keys(shape);
  const checks = Object.values(shape);
  const check = (input: unknown): T | undefined => {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) return undefined;
    const record = input as Record<string, unknown>;
    for (const key in record) if (!Object.hasOwn(shape, key)) return undefined;
    const out: Record<string, unknown> = {};
    for (const [key, valid] of entries) {
      const value = record[key];
      if (!valid(value)) return undefined;
      if (value !== undefined) out[key] = value;
    }
    return out as T;
  };
  // A plain form's values are strings of its own keys, each given once: only the values need checking.
  const values = (values: readonly (string | undefined)[]): boolean => {
    for (let i = 0; i < checks.length; i++) if (!(checks[i] as Check)(values[i])) return false;
    return true;
  };
  const at = Object.fromEntries(names.map((name, i) => [name, i])) as FieldCheck<T>['at'];
  return Object.assign(check, { keys: new PlainFormKeys(names), at, values });
}

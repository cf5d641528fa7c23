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

/**
 * What one field takes: absent only when optional, else a string with a length in [min, max], one of
 * `oneOf`, or an IP address. Data, not a function per field: the checks loop over the fields without a
 * call each (a call site shared by many closures is not inlined).
 */
interface Field {
  readonly optional: boolean;
  readonly min: number;
  readonly max: number;
  readonly oneOf: readonly string[] | undefined;
  readonly ip: boolean;
}

const MAX = 65_535;
const field = (f: Partial<Field>): Field => ({
  optional: false,
  min: 0,
  max: MAX,
  oneOf: undefined,
  ip: false,
  ...f,
});
const text = field({});
const optional = (f: Field): Field => ({ ...f, optional: true });
const oneOf = (...values: string[]): Field => field({ oneOf: values });
const ip = field({ ip: true });

/** Whether `v` passes `f`, as the field's schema checks it. */
function passes(f: Field, v: unknown): boolean {
  if (v === undefined) return f.optional;
  if (typeof v !== 'string') return false;
  if (f.oneOf !== undefined) return f.oneOf.includes(v);
  if (f.ip) return isIP(v) !== 0;
  return v.length >= f.min && v.length <= f.max;
}

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
  routing_key: field({ min: 1 }),
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
function strict<T>(shape: Record<string, Field>): FieldCheck<T> {
  const entries = Object.entries(shape);
  const names = Object.keys(shape);
  const fields = Object.values(shape);
  const check = (input: unknown): T | undefined => {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) return undefined;
    const record = input as Record<string, unknown>;
    for (const key in record) if (!Object.hasOwn(shape, key)) return undefined;
    const out: Record<string, unknown> = {};
    for (const [key, f] of entries) {
      const value = record[key];
      if (!passes(f, value)) return undefined;
      if (value !== undefined) out[key] = value;
    }
    return out as T;
  };
  // A plain form's values are strings of its own keys, each given once: only the values need checking.
  const values = (values: readonly (string | undefined)[]): boolean => {
    for (let i = 0; i < fields.length; i++) if (!passes(fields[i] as Field, values[i])) return false;
    return true;
  };
  const at = Object.fromEntries(names.map((name, i) => [name, i])) as FieldCheck<T>['at'];
  return Object.assign(check, { keys: new PlainFormKeys(names), at, values });
}

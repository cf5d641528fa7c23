import { isIP } from 'node:net';
import type { z } from 'zod';
import type { resourceSchema, topicSchema, userSchema, vhostSchema } from './rabbitmq-request.js';

// Hand-written equivalents of the RabbitMQ schemas (rabbitmq-request.ts) for the hot path: the same
// inputs pass and give the same fields (test/rabbitmq-checks.test.ts proves it on generated input). A
// refusal is worded by the schema itself.

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
export const checkUser = strict<z.infer<typeof userSchema>>(USER);
/** `vhostSchema.safeParse(input).data`, or undefined where the schema refuses `input`. */
export const checkVhost = strict<z.infer<typeof vhostSchema>>(VHOST);
/** `resourceSchema.safeParse(input).data`, or undefined where the schema refuses `input`. */
export const checkResource = strict<z.infer<typeof resourceSchema>>(RESOURCE);
/**
 * `topicSchema.safeParse(input).data`, or undefined where the schema refuses `input`.
 *
 * @example
 * ```ts
 * checkTopic(UrlEncodedForm.parse('username=u&vhost=%2F&resource=topic&name=amq.topic&permission=read&routing_key=a.b').fields);
 * checkTopic({ ...fields, extra: 'x' }); // undefined: the set of keys is closed
 * ```
 */
export const checkTopic = strict<z.infer<typeof topicSchema>>(TOPIC);

/** Like zod's `z.strictObject`: an object that is not an array, with no key outside the shape. */
function strict<T>(shape: Record<string, Check>): (input: unknown) => T | undefined {
  const entries = Object.entries(shape);
  return (input) => {
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
}

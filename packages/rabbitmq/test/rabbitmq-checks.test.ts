import { readPlainForm, readPlainFormValues } from '@mqtt-warden/core';
import {
  checkResource,
  checkTopic,
  checkUser,
  checkVhost,
  resourceSchema,
  routingKeyToTopic,
  topicSchema,
  userSchema,
  vhostSchema,
} from '@mqtt-warden/rabbitmq';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';

// The lean path checks a plain form's values by key index (check.values), never building the object
// the schema sees: for any body, that must accept exactly what the check and the schema accept on the
// object, and the values must be the schema's fields.

const LONG = 'a'.repeat(65_535);
/** Values: the good ones of every key, and each limit crossed. */
const value = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      'u1',
      '%2F',
      '/',
      'topic',
      'exchange',
      'queue',
      'write',
      'read',
      'configure',
      'amq.topic',
      'devices.u1.*',
      '127.0.0.1',
      '%3A%3A1',
      '::1',
      'x+y',
    ),
  },
  { weight: 2, arbitrary: fc.constantFrom('', 'Topic', 'write ', '1.2.3', '%C3%A9', '%00', '\u0000') },
  { weight: 1, arbitrary: fc.constantFrom(LONG, `${LONG}b`, `${LONG.slice(2)}%41`, `${LONG}%41`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
);

/** A good value for each key (the check then turns on the others). */
const GOOD: Readonly<Record<string, readonly string[]>> = {
  resource: ['topic', 'topic', 'exchange', 'queue'],
  permission: ['write', 'read', 'write', 'read', 'configure'],
  routing_key: ['devices.u1.*', 'a'],
  ip: ['127.0.0.1', '%3A%3A1'],
};
const valueFor = (key: string) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...(GOOD[key] ?? ['u1', '%2F', ''])) },
    { weight: 1, arbitrary: value },
  );

function bodies(keys: readonly string[]) {
  const pair = fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...keys).chain((k) => valueFor(k).map((v) => `${k}=${v}`)) },
    { weight: 1, arbitrary: fc.constantFrom(...keys) },
    { weight: 1, arbitrary: fc.constantFrom('extra=1', '__proto__=x', '') },
  );
  // Mostly every key once, or all but one (in any order), else any pairs.
  const complete = fc
    .tuple(fc.shuffledSubarray([...keys], { minLength: keys.length - 1 }), fc.tuple(...keys.map(valueFor)))
    .map(([ks, vs]) => ks.map((k) => `${k}=${vs[keys.indexOf(k)]}`));
  return fc
    .oneof({ weight: 3, arbitrary: complete }, { weight: 2, arbitrary: fc.array(pair, { maxLength: 11 }) })
    .map((p) => Buffer.from(p.join('&')));
}

function agree(name: string, check: typeof checkTopic, schema: z.ZodType) {
  it(`${name}: the values check accepts what the check and the schema accept, with their fields`, () => {
    const names = check.keys.names;
    expect(names).toEqual(Object.keys((schema as unknown as { shape: object }).shape));
    let accepted = 0;
    fc.assert(
      fc.property(bodies(names), (body) => {
        const values = readPlainFormValues(body, check.keys);
        const object = readPlainForm(body, check.keys);
        expect(values === undefined).toBe(object === undefined);
        if (values === undefined) return;
        const fields = check(object);
        const parsed = schema.safeParse(object);
        expect(check.values(values)).toBe(fields !== undefined);
        expect(parsed.success).toBe(fields !== undefined);
        if (fields === undefined) return;
        accepted++;
        const record = fields as Record<string, unknown>;
        for (const [i, key] of names.entries()) expect(values[i]).toBe(record[key]);
        for (const [key, i] of Object.entries(check.at)) expect(names[i as number]).toBe(key);
      }),
      { numRuns: 2000 },
    );
    // Not vacuous: the generator reaches accepted forms.
    expect(accepted).toBeGreaterThan(100);
  });
}

describe('the RabbitMQ checks on plain form values', () => {
  agree('topic', checkTopic, topicSchema);
  agree('resource', checkResource as unknown as typeof checkTopic, resourceSchema);
  agree('vhost', checkVhost as unknown as typeof checkTopic, vhostSchema);
  agree('user', checkUser as unknown as typeof checkTopic, userSchema);
});

describe('routingKeyToTopic', () => {
  it('maps every key as `.` → `/` then `*` → `+` would', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('.', '*', '#', '/', '+', 'a', 'bc', 'é', '\ud83d', '\ude00') }),
        (key) => {
          expect(routingKeyToTopic(key)).toBe(key.replaceAll('.', '/').replaceAll('*', '+'));
        },
      ),
      { numRuns: 3000 },
    );
  });
});

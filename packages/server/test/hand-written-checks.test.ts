import { plainFormKeys, readPlainForm, UrlEncodedForm } from '@mqtt-warden/core';
import { authnSchema, authzSchema, checkAuthn, checkAuthz } from '@mqtt-warden/emqx';
import {
  aclSchema,
  checkAcl,
  checkUser as checkGoAuthUser,
  checkSuperuser,
  userSchema as goAuthUserSchema,
  superuserSchema,
} from '@mqtt-warden/go-auth';
import {
  checkUser as checkRabbitUser,
  checkResource,
  checkTopic,
  checkVhost,
  userSchema as rabbitUserSchema,
  resourceSchema,
  topicSchema,
  vhostSchema,
} from '@mqtt-warden/rabbitmq';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';

// The lean path's hand-written field checks against the zod schemas they replace on the hot path:
// for any input, both accept or both refuse, and an accepted input gives the same fields. Inputs are
// built to hit every edge: wrong types, numbers as strings, NUL and lone surrogates, strings at and past
// the 65,535 limit, arrays, nested objects, extra keys, own `__proto__`/`constructor` keys, inherited
// values and null-prototype objects (forms).

/** Values a key may get: good ones for that key, and every kind of nasty one. */
const nasty = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom(
    '',
    '\u0000',
    'a\u0000b',
    '\ud800',
    'x\udfffy',
    '\ufffd',
    '1',
    '2',
    '02',
    '4',
    '5',
    '1.0',
    ' 1',
    '-1',
    '1e0',
    '0x2',
    'publish',
    'subscribe',
    'write',
    'read',
    'topic',
    'true',
    'false',
    '127.0.0.1',
    '::1',
    '999.1.1.1',
    '12345',
    '123456',
    'QUJD',
    'QUJD=',
    'Q===',
    '/',
    'amq.topic',
    'x'.repeat(65_535),
    'x'.repeat(65_536),
    '\u0000'.repeat(65_535),
  ),
  fc.integer({ min: -2, max: 6 }),
  fc.double(),
  fc.constantFrom(
    1,
    2,
    3,
    4,
    2.0,
    2.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    -0,
    Number.MAX_VALUE,
    true,
    false,
    null,
  ),
  fc.constant(undefined),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.constantFrom(['1'], [1], ['a', 'b'], {}, { a: 1 }, { toString: 'x' }),
);

const keyOf = (shape: readonly string[]) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...shape) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '__proto__',
        'constructor',
        'prototype',
        'extra',
        'client_attrs.a',
        'toString',
      ),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
  );

/** Objects of the schema's keys (mostly), with good or nasty values, in every form an input can take. */
function inputs(shape: readonly string[], good: Good): fc.Arbitrary<unknown> {
  const goodFor = (key: string) => fc.constantFrom(...(good[key] ?? ['dev1', '']));
  const anyGood = fc.oneof(...shape.map(goodFor));
  const entries = fc.array(fc.tuple(keyOf(shape), fc.oneof(anyGood, nasty)), { maxLength: 14 });
  // Mostly a complete object of good values, then broken in one or two places (or not at all).
  const complete = fc.tuple(
    fc.tuple(...shape.map((key) => fc.option(goodFor(key), { freq: 8, nil: undefined }))),
    entries.map((e) => e.slice(0, 2)),
    fc.boolean(),
  );
  return fc.oneof(
    {
      weight: 4,
      arbitrary: complete.map(([values, broken, intact]) =>
        Object.fromEntries([...shape.map((k, i) => [k, values[i]]), ...(intact ? [] : broken)]),
      ),
    },
    { weight: 2, arbitrary: entries.map((e) => Object.fromEntries(e)) },
    // As JSON.parse makes them (an own `__proto__` key stays a key).
    {
      weight: 1,
      arbitrary: entries.map((e) => JSON.parse(JSON.stringify(Object.fromEntries(e)) ?? 'null')),
    },
    // As forms make them.
    {
      weight: 1,
      arbitrary: entries.map((e) => Object.assign(Object.create(null), Object.fromEntries(e))),
    },
    // As the lean path reads a form body: every value text, a list a repeated key.
    {
      weight: 2,
      arbitrary: complete.map(([values, broken]) =>
        formOf([...shape.map((k, i): [string, unknown] => [k, values[i]]), ...broken], shape),
      ),
    },
    { weight: 1, arbitrary: entries.map((e) => formOf(e, shape)) },
    // Values found on the prototype, not the object.
    { weight: 1, arbitrary: entries.map((e) => Object.create(Object.fromEntries(e))) },
    { weight: 1, arbitrary: fc.oneof(nasty, fc.array(fc.object(), { maxLength: 2 })) },
  );
}

/** The fields of a form body carrying `entries`, read as the lean path reads one (plain, or parsed). */
function formOf(entries: readonly [string, unknown][], shape: readonly string[]): unknown {
  const params = new URLSearchParams();
  for (const [key, value] of entries) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one !== undefined) params.append(key, typeof one === 'object' ? JSON.stringify(one) : String(one));
    }
  }
  const body = Buffer.from(params.toString());
  return readPlainForm(body, plainFormKeys(shape)) ?? UrlEncodedForm.parse(body).fields;
}

/** Good values by key (others: a name or `""`). */
type Good = Readonly<Record<string, readonly unknown[]>>;

function agree(name: string, check: (input: unknown) => unknown, schema: z.ZodType, good: Good) {
  const shape = Object.keys((schema as unknown as { shape: object }).shape);
  it(`${name}: the hand-written check accepts and refuses what the schema does, with the same fields`, () => {
    let accepted = 0;
    fc.assert(
      fc.property(inputs(shape, good), (input) => {
        const fast = check(input);
        const slow = schema.safeParse(input);
        expect(fast !== undefined).toBe(slow.success);
        if (slow.success) {
          accepted++;
          expect(fast).toEqual(slow.data);
        }
      }),
      { numRuns: 1500 },
    );
    // Not a vacuous agreement on refusals alone.
    expect(accepted).toBeGreaterThan(100);
  });
}

const emqxGood: Good = {
  topic: ['a/b', '$SYS/x', '#'],
  peerhost: ['127.0.0.1', '::1', ''],
  peerport: ['1883', ''],
  cert_pem: ['QUJD', ''],
  action: ['publish', 'subscribe'],
  access: ['1', '2'],
  qos: ['0', '1', '2', ''],
  retain: ['true', 'false', ''],
};
const goAuthGood: Good = { topic: ['a/b', '#'], acc: [1, 2, 3, 4, '2', '04'], password: ['pw', ''] };
const rabbitGood: Good = {
  vhost: ['/'],
  resource: ['topic', 'exchange', 'queue'],
  permission: ['write', 'read', 'configure'],
  name: ['amq.topic'],
  routing_key: ['a.b', '#'],
  ip: ['::1', '10.0.0.1'],
  tags: ['management', ''],
};

describe('hand-written checks equal the zod schemas', () => {
  agree('EMQX authz', checkAuthz, authzSchema, emqxGood);
  agree('EMQX authn', checkAuthn, authnSchema, emqxGood);
  agree('go-auth acl', checkAcl, aclSchema, goAuthGood);
  agree('go-auth user', checkGoAuthUser, goAuthUserSchema, goAuthGood);
  agree('go-auth superuser', checkSuperuser, superuserSchema, goAuthGood);
  agree('RabbitMQ topic', checkTopic, topicSchema, {
    ...rabbitGood,
    resource: ['topic'],
    permission: ['write', 'read'],
  });
  agree('RabbitMQ user', checkRabbitUser, rabbitUserSchema, rabbitGood);
  agree('RabbitMQ vhost', checkVhost, vhostSchema, rabbitGood);
  agree('RabbitMQ resource', checkResource, resourceSchema, rabbitGood);

  it('refuses each nasty value the schemas refuse, named: a spot check that the property can fail', () => {
    const base = { username: 'u', clientid: 'c', topic: 't', acc: 2 };
    for (const [key, value] of [
      ['username', 'a\u0000b'],
      ['username', '\ud800'],
      ['topic', 'x'.repeat(65_536)],
      ['topic', ''],
      ['acc', '2.0'],
      ['acc', 5],
      ['acc', [2]],
      ['clientid', { a: 1 }],
      ['clientid', undefined],
    ] as const) {
      const input = { ...base, [key]: value };
      expect(aclSchema.safeParse(input).success, `${key}=${String(value)}`).toBe(false);
      expect(checkAcl(input), `${key}=${String(value)}`).toBeUndefined();
    }
    expect(checkAcl({ ...base, acc: '0004' })).toEqual({ ...base, acc: 4 });
    expect(
      checkTopic(
        JSON.parse(
          '{"__proto__":"x","username":"u","vhost":"/","resource":"topic","name":"n","permission":"read","routing_key":"k"}',
        ),
      ),
    ).toBeUndefined();
  });
});

import {
  type AccessRequest,
  type AdapterReply,
  formatIssues,
  type Guard,
  invalidInputReply,
  type Principal,
  type PrincipalQuery,
} from '@mqtt-warden/core';
import {
  aclSchema,
  createGoAuthCore,
  type GoAuthDecisionEvent,
  type GoAuthInput,
  goAuthFormInput,
} from '@mqtt-warden/go-auth';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

// acl() reads the four fields in place instead of through the schema. Whatever the body (JSON as parsed,
// duplicate keys, prototype keys, inherited values, odd types, 1e400, forms with undecodable escapes),
// it must accept and refuse exactly what aclSchema does, refuse in the schema's words, ask the resolver
// and the guard about exactly the fields the schema gives, and log the same ignored keys.

const SHAPE = Object.keys(aclSchema.shape);
const ACTIONS = { 1: ['receive'], 2: ['publish'], 3: ['receive', 'publish'], 4: ['subscribe'] } as const;
const ACTION = { 1: 'receive', 2: 'publish', 3: 'readwrite', 4: 'subscribe' } as const;
const GRANT = '{"ok":true,"error":""}';

const key = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...SHAPE) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      'password',
      'extra',
      '0',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
);

/** Values as JSON text, the way a client may write them (numbers the way JSON.parse will read them). */
const jsonValue = fc.oneof(
  fc.constantFrom(
    '1',
    '2',
    '3',
    '4',
    '5',
    '0',
    '-0',
    '2.0',
    '2e0',
    '0.2e1',
    '4.0000000000000001',
    '1e400',
    '-1e400',
    '"2"',
    '"02"',
    '"0004"',
    '"2.0"',
    '" 2"',
    '"1e0"',
    '"0x2"',
    '""',
    '"u"',
    '"a/b"',
    '"#"',
    '"a\\u0000b"',
    '"\\ud800"',
    '"\\ufffd"',
    '[2]',
    '["u"]',
    '{}',
    '{"a":1}',
    'null',
    'true',
    'false',
    JSON.stringify('x'.repeat(65_535)),
    JSON.stringify('x'.repeat(65_536)),
  ),
  fc.string({ maxLength: 8 }).map((s) => JSON.stringify(s)),
  fc.string({ unit: 'binary', maxLength: 4 }).map((s) => JSON.stringify(s)),
  fc.integer({ min: -2, max: 6 }).map(String),
  fc.double().map((d) => (Number.isFinite(d) ? JSON.stringify(d) : '1e999')),
);

/** A good value for the key, or one that is nearly good (the edges a check may get wrong), or anything. */
const field = (k: string) =>
  fc.oneof(
    {
      weight: 6,
      arbitrary:
        k === 'acc'
          ? fc.constantFrom('1', '2', '3', '4', '"4"', '"04"', '2.0', '2e0', '0.2e1')
          : k === 'topic'
            ? fc.constantFrom('"a/b"', '"#"', '"devices/u1/t/+"', JSON.stringify('x'.repeat(65_535)))
            : fc.constantFrom('"u1"', '"c1"', '""', '"\\ufffd"'),
    },
    {
      weight: 2,
      arbitrary:
        k === 'acc'
          ? fc.constantFrom(
              '0',
              '5',
              '-0',
              '1e400',
              '4.0000000001',
              '"5"',
              '"2.0"',
              '" 2"',
              '"0x2"',
              '"1e0"',
              '"+2"',
              '[2]',
              'null',
            )
          : fc.constantFrom(
              '""',
              '"a\\u0000b"',
              '"\\ud800"',
              JSON.stringify('x'.repeat(65_536)),
              '2',
              '["u"]',
              'null',
              '{}',
            ),
    },
    { weight: 1, arbitrary: jsonValue },
  );

const complete = fc.tuple(...SHAPE.map((k) => field(k).map((v): [string, string] => [k, v])));
const other = fc.constantFrom('__proto__', 'constructor', 'toString', 'password', 'extra', '0', 'zone');

/** go-auth's four keys with good values and others beside, or broken in a few places; keys may repeat. */
const entries = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(complete, fc.array(fc.tuple(other, jsonValue), { maxLength: 2 }))
      .chain(([base, extra]) =>
        fc.shuffledSubarray([...base, ...extra], { minLength: base.length + extra.length }),
      ),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(complete, fc.array(fc.tuple(key, jsonValue), { maxLength: 3 }))
      .chain(([base, broken]) => fc.shuffledSubarray([...base, ...broken], { minLength: base.length - 1 })),
  },
  { weight: 2, arbitrary: fc.array(fc.tuple(key, jsonValue), { maxLength: 8 }) },
);

const jsonText = (e: readonly [string, string][]) =>
  `{${e.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;

/** Form values, percent-encoded or not, some not UTF-8 once decoded. */
const formValue = fc.oneof(
  fc.constantFrom(
    '1',
    '2',
    '4',
    '04',
    '5',
    '2.0',
    '',
    'u1',
    'a%2Fb',
    '%23',
    '%FF',
    'a%C3%A9',
    '%00',
    'x%E2%82',
    '%2B',
    '+',
  ),
  fc.string({ maxLength: 6 }).map(encodeURIComponent),
);
const formGood = (k: string) =>
  k === 'acc'
    ? fc.constantFrom('1', '2', '4', '04')
    : k === 'topic'
      ? fc.constantFrom('a%2Fb', '%23', 'a%2F%FF', 'a%C3%A9')
      : fc.constantFrom('u1', '', 'a%C3%A9', 'c%FF', 'c%E2%82');
const formBody = fc
  .oneof(
    {
      weight: 3,
      arbitrary: fc
        .tuple(
          fc.tuple(...SHAPE.map((k) => formGood(k).map((v): [string, string] => [k, v]))),
          fc.array(fc.tuple(other, formValue), { maxLength: 2 }),
        )
        .chain(([base, extra]) =>
          fc.shuffledSubarray([...base, ...extra], { minLength: base.length + extra.length }),
        ),
    },
    {
      weight: 2,
      arbitrary: fc.array(fc.tuple(key, formValue), { maxLength: 7 }).chain((extra) =>
        fc.shuffledSubarray([...SHAPE.map((k): [string, string] => [k, k === 'acc' ? '2' : 'a']), ...extra], {
          minLength: 2,
        }),
      ),
    },
  )
  .map((e) => Buffer.from(e.map(([k, v]) => `${encodeURIComponent(k)}=${v}`).join('&')));

/** Every kind of input the core may be given. */
const input: fc.Arbitrary<GoAuthInput> = fc.oneof(
  { weight: 5, arbitrary: entries.map((e) => ({ body: JSON.parse(jsonText(e)) as unknown })) },
  { weight: 2, arbitrary: formBody.map(goAuthFormInput) },
  // Values found on the prototype, not the object; and objects without a prototype.
  {
    weight: 1,
    arbitrary: entries.map((e) => ({ body: Object.create(JSON.parse(jsonText(e))) as unknown })),
  },
  {
    weight: 1,
    arbitrary: entries.map((e) => ({ body: Object.assign(Object.create(null), JSON.parse(jsonText(e))) })),
  },
  { weight: 1, arbitrary: jsonValue.map((v) => ({ body: JSON.parse(v) as unknown })) },
);

/**
 * A core whose resolver and guard record what they are asked; `mode` picks how the resolver answers, and
 * `superuser` whether its principal is one.
 */
function recorded(mode: 'sync' | 'async' | 'unknown' | 'throws' | 'rejects', superuser = false) {
  const queries: PrincipalQuery[] = [];
  const asked: AccessRequest[] = [];
  const events: GoAuthDecisionEvent[] = [];
  const debug: unknown[] = [];
  const principal: Principal = {
    id: 'p',
    clientId: 'c',
    method: 'password',
    roles: [],
    attributes: {},
    superuser,
  };
  const guard = {
    authorize(_p: Principal, request: AccessRequest) {
      asked.push(request);
      return { allowed: true, reason: 'rule' };
    },
  } as unknown as Guard;
  const core = createGoAuthCore({
    guard,
    resolver: {
      resolve(query) {
        queries.push(query);
        if (mode === 'throws') throw new Error('down');
        if (mode === 'rejects') return Promise.reject(new Error('down'));
        if (mode === 'unknown') return undefined;
        return mode === 'async' ? Promise.resolve(principal) : principal;
      },
    },
    responseMode: 'json',
    onDecision: (event) => events.push(event),
  });
  const log = { debug: (object: object) => debug.push(object), error: () => {} };
  return { core, log, queries, asked, events, debug };
}

/** What the schema-checked path answers (the acl of before): the reply and the decision event. */
function expected(
  input: GoAuthInput,
  mode: Parameters<typeof recorded>[0],
): { reply: AdapterReply; event: GoAuthDecisionEvent; resolved?: PrincipalQuery; asked?: unknown[] } {
  const result = aclSchema.safeParse(input.body);
  if (!result.success) {
    const reply = invalidInputReply(400, formatIssues(result.error.issues, 'body'));
    return { reply, event: { action: 'receive', result: 'invalid' } };
  }
  const { username, clientid, topic, acc } = result.data;
  const undecodable = [...(input.form?.undecodable ?? [])].find(
    (k) => k !== 'password' && k !== 'topic' && SHAPE.includes(k),
  );
  if (undecodable !== undefined) {
    const reply = invalidInputReply(400, `${undecodable}: its percent-escapes do not decode to UTF-8`);
    return { reply, event: { action: 'receive', result: 'invalid' } };
  }
  const action = ACTION[acc];
  const deny = { status: 200, body: '{"ok":false,"error":"not authorized"}' } as AdapterReply;
  const error = { status: 500, body: '{"ok":false,"error":"internal error"}' } as AdapterReply;
  if (input.form?.undecodable.has('topic'))
    return { reply: deny, event: { action, result: 'deny', reason: 'invalid' } };
  if (username === '') return { reply: deny, event: { action, result: 'deny', reason: 'unknown' } };
  const resolved = { username, clientId: clientid };
  if (mode === 'throws' || mode === 'rejects')
    return { reply: error, event: { action, result: 'error', reason: 'error' }, resolved };
  if (mode === 'unknown')
    return { reply: deny, event: { action, result: 'deny', reason: 'unknown' }, resolved };
  const asked = ACTIONS[acc].map((neutral) => ({
    action: neutral,
    topic,
    deliveryChecked: neutral === 'subscribe',
  }));
  return {
    reply: { status: 200, body: GRANT } as AdapterReply,
    event: { action, result: 'grant' },
    resolved,
    asked,
  };
}

describe('go-auth acl reads its fields in place, exactly as the schema does', () => {
  it('accepts, refuses, asks and logs what the schema-checked path does, on any body', async () => {
    const seen = { accepted: 0, refused: 0, ignored: 0, form: 0, formAccepted: 0 };
    const modes = fc.constantFrom(
      'sync',
      'sync',
      'sync',
      'async',
      'unknown',
      'throws',
      'rejects',
    ) as fc.Arbitrary<Parameters<typeof recorded>[0]>;
    await fc.assert(
      fc.asyncProperty(input, modes, async (given, mode) => {
        const { core, log, queries, asked, events, debug } = recorded(mode);
        const answer = core.acl(given, log);
        const want = expected(given, mode);
        // Nothing to wait for: the reply comes at once, without a promise.
        if (mode !== 'async' && mode !== 'rejects') expect(answer).not.toBeInstanceOf(Promise);
        const reply = await answer;
        expect({ status: reply.status, body: reply.body }).toEqual({
          status: want.reply.status,
          body: want.reply.body,
        });
        expect(events).toEqual([want.event]);
        expect(queries).toEqual(want.resolved ? [want.resolved] : []);
        expect(asked).toEqual(want.asked ?? []);
        // The keys the schema does not read are logged once, by name, when there are any (after a pass).
        const ignored = aclSchema.safeParse(given.body).success
          ? Object.keys(given.body as object).filter((k) => !SHAPE.includes(k))
          : [];
        expect(debug).toEqual(ignored.length > 0 ? [{ keys: ignored.slice(0, 20) }] : []);
        if (ignored.length > 0) seen.ignored++;
        if (given.form) seen.form++;
        if (given.form && want.event.result !== 'invalid') seen.formAccepted++;
        if (want.event.result === 'invalid') seen.refused++;
        else seen.accepted++;
      }),
      { numRuns: 3000 },
    );
    // Not a vacuous agreement: every kind of case came up often.
    expect(Math.min(...Object.values(seen))).toBeGreaterThan(50);
  });

  it('refuses a few bodies by name, in the schema words', () => {
    const { core, log } = recorded('sync');
    for (const text of [
      '{"acc":1e400,"clientid":"c","topic":"t","username":"u"}',
      '{"acc":5,"clientid":"c","topic":"t","username":"u"}',
      '{"acc":"2.0","clientid":"c","topic":"t","username":"u"}',
      '{"acc":2,"clientid":"c","topic":"","username":"u"}',
      '{"acc":2,"clientid":"c","topic":"t","username":"a\\u0000b"}',
      '{"acc":2,"clientid":["c"],"topic":"t","username":"u"}',
      '{"acc":2,"topic":"t","username":"u","__proto__":{"clientid":"c"}}',
    ]) {
      const reply = core.acl({ body: JSON.parse(text) }, log) as AdapterReply;
      expect(reply.status, text).toBe(400);
    }
    const grant = core.acl(
      { body: JSON.parse('{"acc":2,"clientid":"c","topic":"t","username":"u","acc":4}') },
      log,
    );
    expect((grant as AdapterReply).body).toBe(GRANT);
  });
});

describe('go-auth superuser follows the resolver as it answers', () => {
  it('answers at once when the resolver does, later when it waits, "error" when it fails', async () => {
    for (const [mode, body] of [
      ['sync', GRANT],
      ['async', GRANT],
      ['unknown', '{"ok":false,"error":"not authorized"}'],
      ['throws', '{"ok":false,"error":"internal error"}'],
      ['rejects', '{"ok":false,"error":"internal error"}'],
    ] as const) {
      const { core, log, events } = recorded(mode, true);
      const answer = core.superuser({ body: { username: 'root' } }, log);
      expect(answer instanceof Promise, mode).toBe(mode === 'async' || mode === 'rejects');
      expect((await answer).body, mode).toBe(body);
      expect(events, mode).toHaveLength(1);
    }
  });
});

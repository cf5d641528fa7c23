import { parseAclClaim, TokenError } from '@mqtt-warden/jwt';
import { describe, expect, it } from 'vitest';

describe('parseAclClaim: EMQX v1', () => {
  it('turns pub/sub/all into allow rules; sub implies receive', () => {
    expect(parseAclClaim({ pub: ['a/${clientid}'], sub: ['b/#', 'c/+'], all: ['d'] })).toEqual([
      { effect: 'allow', actions: ['publish'], topics: ['a/${clientid}'] },
      { effect: 'allow', actions: ['subscribe', 'receive'], topics: ['b/#', 'c/+'] },
      { effect: 'allow', actions: ['publish', 'subscribe', 'receive'], topics: ['d'] },
    ]);
  });

  it('yields no rules for an empty claim (default deny then applies)', () => {
    expect(parseAclClaim({})).toEqual([]);
    expect(parseAclClaim({ pub: [] })).toEqual([]);
  });

  it('refuses unknown keys and non-string topics', () => {
    expect(() => parseAclClaim({ publish: ['a'] })).toThrow(/unknown key "publish"/);
    expect(() => parseAclClaim({ pub: 'a' })).toThrow(TokenError);
    expect(() => parseAclClaim({ pub: [1] })).toThrow(TokenError);
    expect(() => parseAclClaim('pub')).toThrow(TokenError);
  });
});

describe('parseAclClaim: EMQX v2', () => {
  it('translates permission, action aliases, topic/topics, qos and retain', () => {
    expect(
      parseAclClaim([
        { permission: 'allow', action: 'pub', topic: 't/${username}', qos: '1,2', retain: 'false' },
        { permission: 'deny', action: 'sub', topics: ['x/#', 'y'], qos: [0] },
        {
          permission: 'allow',
          action: 'all',
          topic: 'z',
          topics: ['ignored'],
          qos: [0, 1, 2],
          retain: 'all',
        },
        { permission: 'allow', action: 'publish', topic: 'r', retain: 1 },
      ]),
    ).toEqual([
      { effect: 'allow', actions: ['publish'], topics: ['t/${username}'], qos: [1, 2], retain: false },
      { effect: 'deny', actions: ['subscribe', 'receive'], topics: ['x/#', 'y'], qos: [0] },
      { effect: 'allow', actions: ['publish', 'subscribe', 'receive'], topics: ['z'] },
      { effect: 'allow', actions: ['publish'], topics: ['r'], retain: true },
    ]);
  });

  it('splits an `all` rule with retain so that retain applies to publishing only', () => {
    expect(parseAclClaim([{ permission: 'deny', action: 'all', topic: 'a/#', retain: true }])).toEqual([
      { effect: 'deny', actions: ['publish'], topics: ['a/#'], retain: true },
      { effect: 'deny', actions: ['subscribe', 'receive'], topics: ['a/#'] },
    ]);
  });

  it('translates `eq T` into the exact topic T: no placeholder rendering, no wildcard meaning', () => {
    expect(
      parseAclClaim([
        { permission: 'allow', action: 'all', topics: ['eq a/b', 'eq devices/${clientid}/cmd'] },
      ]),
    ).toEqual([
      { effect: 'allow', actions: ['publish'], topics: [{ eq: 'a/b' }, { eq: 'devices/${clientid}/cmd' }] },
      { effect: 'allow', actions: ['subscribe'], topics: [{ eq: 'a/b' }, { eq: 'devices/${clientid}/cmd' }] },
      { effect: 'allow', actions: ['receive'], topics: [{ eq: 'a/b' }, { eq: 'devices/${clientid}/cmd' }] },
    ]);
  });

  it('lets `allow eq <filter>` subscribe to exactly that filter and receive what it delivers', () => {
    expect(parseAclClaim([{ permission: 'allow', action: 'subscribe', topic: 'eq a/+' }])).toEqual([
      { effect: 'allow', actions: ['subscribe'], topics: [{ eq: 'a/+' }] },
      { effect: 'allow', actions: ['receive'], topics: ['a/+'] },
    ]);
  });

  it('turns `deny eq <filter>` into a deny of exactly that subscription; its publish part matches nothing', () => {
    expect(parseAclClaim([{ permission: 'deny', action: 'all', topics: ['eq #', 'q'] }])).toEqual([
      { effect: 'deny', actions: ['publish'], topics: [{ eq: '#' }] },
      { effect: 'deny', actions: ['subscribe'], topics: [{ eq: '#' }] },
      { effect: 'deny', actions: ['receive'], topics: [{ eq: '#' }] },
      { effect: 'deny', actions: ['publish', 'subscribe', 'receive'], topics: ['q'] },
    ]);
  });

  it('reads an empty topic list as matching nothing (EMQX accepts it)', () => {
    expect(parseAclClaim([{ permission: 'allow', action: 'all', topics: [] }])).toEqual([]);
    expect(parseAclClaim([{ permission: 'deny', action: 'publish', topics: [] }])).toEqual([]);
  });

  it('leaves out an allow it cannot express (reported), and refuses a token with such a deny', () => {
    const dropped: string[] = [];
    const onDropped = (message: string) => dropped.push(message);
    expect(
      parseAclClaim(
        [
          { permission: 'allow', action: 'publish', topics: ['a/${client_attrs.site}', 'b'] },
          { permission: 'allow', action: 'subscribe', topic: 'a/#/b' },
        ],
        { onDropped },
      ),
    ).toEqual([{ effect: 'allow', actions: ['publish'], topics: ['b'] }]);
    expect(dropped).toEqual([
      expect.stringMatching(/ACL rule #0: topic "a\/\$\{client_attrs.site\}".*left out/),
      expect.stringMatching(/ACL rule #1: topic "a\/#\/b": invalid topic filter.*left out/),
    ]);
    expect(() =>
      parseAclClaim([{ permission: 'deny', action: 'publish', topic: 'a/${cert_common_name}' }]),
    ).toThrow(/refuses the token/);
  });

  it('refuses malformed rules, and denies it cannot express (fail closed)', () => {
    const refuse = (rule: object, pattern: RegExp) => {
      let error: unknown;
      try {
        parseAclClaim([rule]);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TokenError);
      expect((error as TokenError).code).toBe('ERR_TOKEN_ACL');
      expect((error as TokenError).message).toMatch(pattern);
    };
    refuse({ permission: 'deny', action: 'publish', topic: 'a/${client_attrs.site}' }, /client_attrs.site/);
    refuse({ permission: 'deny', action: 'publish', topic: 'a/${cert_common_name}' }, /not supported/);
    refuse({ permission: 'deny', action: 'publish', topic: 'a/${clientid' }, /unterminated/);
    refuse({ permission: 'deny', action: 'publish', topic: 'a/#/b' }, /invalid topic filter/);
    refuse({ permission: 'deny', action: 'publish', topic: '' }, /invalid topic filter/);
    refuse({ permission: 'allow', action: 'publish', topic: 7 }, /"topic"/);
    refuse({ permission: 'allow', action: 'publish' }, /"topic"/);
    refuse({ permission: 'maybe', action: 'publish', topic: 'a' }, /permission/);
    refuse({ permission: 'allow', action: 'pubsub', topic: 'a' }, /action/);
    refuse({ permission: 'allow', action: 'publish', topic: 'a', qos: 3 }, /qos/);
    refuse({ permission: 'allow', action: 'publish', topic: 'a', qos: [] }, /qos/);
    refuse({ permission: 'allow', action: 'publish', topic: 'a', retain: 'yes' }, /retain/);
  });
});

import type { Principal, PrincipalRule } from '@mqtt-warden/core';
import { toEmqxAcl } from '@mqtt-warden/emqx';
import { describe, expect, it } from 'vitest';

const principal = (...rules: PrincipalRule[]): Principal => ({
  id: 'p',
  clientId: 'dev1',
  username: 'u',
  method: 'jwt',
  roles: [],
  attributes: {},
  rules,
});

// The exported rules are applied by EMQX itself: each must mean there what it means to the policy.
describe('toEmqxAcl keeps the meaning of retain and exact topics', () => {
  it('writes retain on publish rules only, where EMQX reads it as the same match condition', () => {
    const acl = toEmqxAcl(
      principal(
        { effect: 'deny', actions: ['publish'], topics: ['a'], retain: false },
        { effect: 'deny', actions: ['publish', 'subscribe', 'receive'], topics: ['b'], retain: true },
        { effect: 'deny', actions: ['subscribe', 'receive'], topics: ['c'], retain: true },
        { effect: 'allow', actions: ['publish'], topics: ['d'], retain: true },
      ),
      'all',
    );
    expect(acl).toEqual([
      { permission: 'deny', action: 'publish', topics: ['a'], retain: false },
      { permission: 'deny', action: 'publish', topics: ['b'], retain: true },
      { permission: 'deny', action: 'subscribe', topics: ['b'] },
      { permission: 'deny', action: 'subscribe', topics: ['c'] },
      { permission: 'allow', action: 'publish', topics: ['d'], retain: true },
    ]);
  });

  it('exports exact topics as EMQX `eq` topics, unrendered', () => {
    const acl = toEmqxAcl(
      principal(
        { effect: 'deny', actions: ['subscribe'], topics: [{ eq: '#' }] },
        {
          effect: 'allow',
          actions: ['publish'],
          topics: [{ eq: 'devices/${clientid}/cmd' }, 'up/${clientid}'],
        },
      ),
      'all',
    );
    expect(acl).toEqual([
      { permission: 'deny', action: 'subscribe', topics: ['eq #'] },
      { permission: 'allow', action: 'publish', topics: ['eq devices/${clientid}/cmd', 'up/dev1'] },
    ]);
  });

  it('exports no rule for an empty topic list (it matches nothing either way)', () => {
    expect(
      toEmqxAcl(
        principal(
          { effect: 'deny', actions: ['publish'], topics: [] },
          { effect: 'allow', actions: ['publish'], topics: [] },
        ),
        'all',
      ),
    ).toEqual([]);
  });
});

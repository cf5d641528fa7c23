import { TokenError } from '@mqtt-warden/jwt';
import { scopeGrants } from '@mqtt-warden/oauth';
import { describe, expect, it } from 'vitest';

describe('scopeGrants', () => {
  it('maps every verb, keeps colons in the filter, and maps configured scopes to roles', () => {
    expect(
      scopeGrants(
        [
          'mqtt:publish:sensors/+/temp',
          'mqtt:subscribe:alerts/#',
          'mqtt:receive:broadcast/#',
          'mqtt:read:cmd/${clientid}/#',
          'mqtt:write:urn:x/${username}',
          'openid',
          'fleet',
          'ops',
        ],
        { roles: { fleet: 'fleet-reader', ops: ['operator', 'fleet-reader'] } },
      ),
    ).toEqual({
      roles: ['fleet-reader', 'operator'],
      rules: [
        { effect: 'allow', actions: ['publish'], topics: ['sensors/+/temp'] },
        { effect: 'allow', actions: ['subscribe'], topics: ['alerts/#'] },
        { effect: 'allow', actions: ['receive'], topics: ['broadcast/#'] },
        { effect: 'allow', actions: ['subscribe', 'receive'], topics: ['cmd/${clientid}/#'] },
        { effect: 'allow', actions: ['publish'], topics: ['urn:x/${username}'] },
      ],
    });
  });

  it('uses a custom prefix and ignores scopes of other prefixes', () => {
    expect(scopeGrants(['iot:publish:a', 'mqtt:publish:b'], { prefix: 'iot' }).rules).toEqual([
      { effect: 'allow', actions: ['publish'], topics: ['a'] },
    ]);
  });

  it('does not treat inherited object keys as role mappings', () => {
    expect(scopeGrants(['constructor', 'toString'], { roles: {} }).roles).toEqual([]);
  });

  it('refuses malformed topic scopes', () => {
    for (const scope of [
      'mqtt:delete:a',
      'mqtt:publish',
      'mqtt:publish:',
      'mqtt:publish:a/#/b',
      'mqtt:read:${cert.cn}/x',
    ]) {
      expect(() => scopeGrants([scope]), scope).toThrow(TokenError);
    }
  });
});

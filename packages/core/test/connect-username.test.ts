import {
  applyConnectUsername,
  ConfigError,
  type ConnectRequest,
  connectUsernameMode,
  type Principal,
} from '@mqtt-warden/core';
import { describe, expect, it } from 'vitest';

const request = (username?: string): ConnectRequest => ({
  clientId: 'c1',
  username,
  transport: { tls: true },
});
const proven: Principal = {
  id: 'p1',
  clientId: 'c1',
  username: 'alice',
  method: 't',
  roles: [],
  attributes: {},
};
const { username: _, ...unproven } = proven;

describe('connectUsernameMode', () => {
  it('defaults to must-match when a username is proven, claimed otherwise; must-match needs one', () => {
    expect(connectUsernameMode(undefined, true, 'x')).toBe('must-match');
    expect(connectUsernameMode(undefined, false, 'x')).toBe('claimed');
    expect(connectUsernameMode('claimed', true, 'x')).toBe('claimed');
    expect(() => connectUsernameMode('must-match', false, 'usernameClaim')).toThrow(ConfigError);
  });
});

describe('applyConnectUsername', () => {
  it('must-match: the CONNECT username must be the proven one, absent included', () => {
    expect(applyConnectUsername(proven, request('alice'), 'must-match')).toEqual({
      outcome: 'allow',
      principal: proven,
    });
    for (const username of ['admin', 'Alice', undefined]) {
      expect(applyConnectUsername(proven, request(username), 'must-match')).toMatchObject({
        outcome: 'deny',
        reason: 'not-authorized',
      });
    }
  });

  it('claimed: a differing CONNECT username is kept apart and never becomes the username', () => {
    expect(applyConnectUsername(proven, request('admin'), 'claimed')).toEqual({
      outcome: 'allow',
      principal: { ...proven, claimedUsername: 'admin' },
    });
    const outcome = applyConnectUsername(unproven, request('admin'), 'claimed');
    expect(outcome).toEqual({ outcome: 'allow', principal: { ...unproven, claimedUsername: 'admin' } });
    expect(applyConnectUsername(unproven, request(), 'claimed')).toEqual({
      outcome: 'allow',
      principal: unproven,
    });
  });
});

import { describe, expect, it } from 'vitest';
import { parseAclClaim, TokenError } from '../src/index.js';

// Property: no wildcard injection through token claims. An ACL claim is attacker-shaped JSON
// (signed, but by any issuer the deployment trusts); keys that name Object.prototype members must
// be refused like any other unknown key, not turned into a rule on "#".

describe('parseAclClaim with prototype-named keys', () => {
  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])('refuses v1 key %j', (key) => {
    const claim = JSON.parse(`{${JSON.stringify(key)}: ["#"]}`);
    expect(() => parseAclClaim(claim)).toThrow(
      expect.objectContaining({
        code: 'ERR_TOKEN_ACL',
        message: expect.stringContaining(`unknown key "${key}"`),
      }),
    );
  });

  it.each(['constructor', '__proto__', 'toString'])('refuses v2 action %j', (action) => {
    const claim = [{ permission: 'allow', action, topic: '#' }];
    expect(() => parseAclClaim(claim)).toThrow(TokenError);
    expect(() => parseAclClaim(claim)).toThrow(/"action" must be publish, subscribe or all/);
  });
});

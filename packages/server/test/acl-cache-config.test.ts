import type { Authenticator, PrincipalRule } from '@mqtt-warden/core';
import { describe, expect, it } from 'vitest';
import { buildChainLink } from '../src/authenticator-chain.js';
import { parseServerConfig } from '../src/server-config.js';
import { epoch, signJwt } from './tokens.js';

// Property: `aclCacheBytes` of a jwt or oauth block is the bound of that authenticator's ACL claim cache.
// Seen from outside: a claim seen again is answered with the same (frozen) rules while it is cached, and
// with new ones once the claims that followed it pushed it out; that happens after more than half the
// bound (two generations) and by the time the whole bound was filled.

const SECRET = 'an-hmac-secret-of-at-least-32-bytes!';
const BOUND = 256 * 1024;
/** Claim text length: each entry is estimated at about 4 × this (its text and its topic, 2 bytes a char). */
const LENGTH = 2000;
const ENTRY = 4 * LENGTH;
const silent = { warn() {}, info() {}, error() {}, debug() {} };

const BLOCKS = {
  jwt: `{ type: jwt, keys: { secret: "${SECRET}" }, issuer: idp, audience: mqtt, aclCacheBytes: ${BOUND} }`,
  oauth: `{ type: oauth, jwt: { keys: { secret: "${SECRET}" }, issuer: idp, audience: mqtt }, claims: { acl: acl }, aclCacheBytes: ${BOUND} }`,
};

async function authenticatorOf(block: string): Promise<Authenticator> {
  const config = parseServerConfig(`policy: { file: policy.yaml }\nauthenticators:\n  - ${block}\n`);
  return (await buildChainLink(config.authenticators[0]!, silent)).authenticator;
}

/** The first rule a token with ACL claim number `n` (about LENGTH characters of JSON) is granted. */
async function ruleOf(authenticator: Authenticator, n: number): Promise<PrincipalRule> {
  const topic = `t/${n}/${'x'.repeat(LENGTH - 20)}`;
  const token = signJwt(
    {
      iss: 'idp',
      aud: 'mqtt',
      sub: 'sensor-1',
      client_id: 'sensor-1',
      iat: epoch(),
      exp: epoch(300),
      jti: `j${n}`,
      acl: { pub: [topic] },
    },
    SECRET,
    { typ: 'at+jwt' },
  );
  const outcome = await authenticator.authenticate({
    clientId: 'sensor-1',
    password: new TextEncoder().encode(token),
    transport: { tls: true },
  });
  if (outcome.outcome !== 'allow') throw new Error(JSON.stringify(outcome));
  const rule = outcome.principal.rules?.[0];
  expect(rule?.topics).toEqual([topic]);
  return rule!;
}

describe('aclCacheBytes in the jwt and oauth blocks', () => {
  for (const [type, block] of Object.entries(BLOCKS)) {
    it(`${type}: is the bound of the ACL claim cache`, async () => {
      const authenticator = await authenticatorOf(block);
      const first = await ruleOf(authenticator, 0);
      // Less than half the bound of other claims: the first is still cached.
      const fewer = Math.floor(BOUND / 2 / (ENTRY + 1024));
      for (let n = 1; n <= fewer; n++) await ruleOf(authenticator, n);
      expect(await ruleOf(authenticator, 0)).toBe(first);
      // More than the whole bound of others since (the default 1 MiB would still hold it): pushed out.
      const more = Math.ceil((BOUND + ENTRY) / ENTRY);
      for (let n = 1000; n < 1000 + more; n++) await ruleOf(authenticator, n);
      const again = await ruleOf(authenticator, 0);
      expect(again).toEqual(first);
      expect(again).not.toBe(first);
    });
  }

  it('is 1 MiB unless set, and refused outside 0 to 64 MiB', () => {
    const parse = (extra: string) =>
      parseServerConfig(
        `policy: { file: p }\nauthenticators: [{ type: jwt, keys: { secret: "${SECRET}" }${extra} }]`,
      ).authenticators[0];
    expect(parse('')).toMatchObject({ aclCacheBytes: 1024 * 1024 });
    expect(() => parse(', aclCacheBytes: -1')).toThrow(/aclCacheBytes/);
    expect(() => parse(`, aclCacheBytes: ${64 * 1024 * 1024 + 1}`)).toThrow(/aclCacheBytes/);
  });
});

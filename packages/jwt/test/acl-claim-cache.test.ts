import { AclClaimCache, createJwtAuthenticator, parseAclClaim } from '@mqtt-warden/jwt';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { withPassword } from './connect-request.js';

// Properties: the cache of translated ACL claims is bounded in bytes whatever tokens arrive, and a
// claim is only ever answered with its own translation (a token cannot borrow another's grants).

/** Claims as they arrive from a verified token: parsed JSON. */
const json = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

describe('AclClaimCache', () => {
  it('stays within its byte bound under a flood of distinct claims, and still translates each exactly', () => {
    const maxBytes = 64 * 1024;
    const cache = new AclClaimCache({ maxBytes });
    let peak = 0;
    for (let i = 0; i < 20_000; i++) {
      const claim = json({ pub: [`fleet/${i}/${'x'.repeat(i % 200)}/up`], sub: [`fleet/${i}/down`] });
      const rules = cache.parse(claim);
      if (i % 997 === 0) expect(rules).toEqual(parseAclClaim(claim));
      peak = Math.max(peak, cache.bytes);
    }
    expect(peak).toBeGreaterThan(maxBytes / 2); // it did cache
    expect(peak).toBeLessThanOrEqual(maxBytes);
  });

  it('does not let one huge claim evict everything: entries above 1/16 of the bound are not kept', () => {
    const cache = new AclClaimCache({ maxBytes: 64 * 1024 });
    cache.parse(json({ pub: ['small/topic'] }));
    const before = cache.bytes;
    const huge = json({ pub: Array.from({ length: 2_000 }, (_, i) => `huge/${i}/topic`) });
    expect(cache.parse(huge)).toEqual(parseAclClaim(huge));
    expect(cache.bytes).toBe(before);
  });

  it('answers each distinct claim with its own translation, never a look-alike one', () => {
    const cache = new AclClaimCache();
    // Pairs that a careless key (a short digest, joined topics, ignoring structure or order) would confuse.
    const claims = [
      { pub: ['a/#'] },
      { sub: ['a/#'] },
      { all: ['a/#'] },
      { pub: ['a/#', 'b'] },
      { pub: ['a/#,b'] },
      { pub: ['a', '#'] },
      { pub: ['a'], sub: ['b'] },
      { sub: ['b'], pub: ['a'] },
      [{ permission: 'allow', action: 'publish', topic: 'a/#' }],
      [{ permission: 'deny', action: 'publish', topic: 'a/#' }],
      [{ permission: 'allow', action: 'publish', topic: 'a/#', qos: 1 }],
      [{ permission: 'allow', action: 'publish', topic: 'a/#', qos: [0, 1] }],
      [{ permission: 'allow', action: 'publish', topic: 'a/#', retain: true }],
      [{ permission: 'allow', action: 'publish', topic: 'eq a/#' }],
      [{ permission: 'allow', action: 'publish', topic: 'a/${clientid}' }],
      [{ permission: 'allow', action: 'publish', topic: 'a/${username}' }],
    ].map(json);
    for (let round = 0; round < 3; round++) {
      for (const claim of claims) expect(cache.parse(claim)).toEqual(parseAclClaim(claim));
    }
    const translations = new Set(claims.map((claim) => JSON.stringify(cache.parse(claim))));
    // The translations differ (so a mix-up would show), except v1 `pub` and the equivalent v2 allow.
    expect(translations.size).toBe(claims.length - 1);
  });

  it('never answers a claim with an infinite number (JSON 1e400) from the entry of the same claim with null', () => {
    // JSON.stringify writes Infinity as null, yet "qos": null allows every QoS while 1e400 is no QoS.
    const cache = new AclClaimCache();
    for (const member of ['qos', 'retain']) {
      const withNull = JSON.parse(`[{"permission":"allow","action":"all","topic":"a/#","${member}":null}]`);
      const infinite = JSON.parse(`[{"permission":"allow","action":"all","topic":"a/#","${member}":-1e400}]`);
      expect(cache.parse(withNull)).toEqual(parseAclClaim(withNull));
      expect(() => cache.parse(infinite)).toThrow(expect.objectContaining({ code: 'ERR_TOKEN_ACL' }));
    }
  });

  it('refuses a malformed claim every time: failures are not remembered, and never answered from a valid entry', () => {
    const cache = new AclClaimCache();
    const valid = json({ pub: ['a/b'] });
    cache.parse(valid);
    const malformed = json({ pub: ['a/b'], publish: ['#'] });
    for (let i = 0; i < 2; i++) {
      expect(() => cache.parse(malformed)).toThrow(expect.objectContaining({ code: 'ERR_TOKEN_ACL' }));
    }
    const inexpressibleDeny = json([{ permission: 'deny', action: 'publish', topic: 'a/${zone}' }]);
    for (let i = 0; i < 2; i++) {
      expect(() => cache.parse(inexpressibleDeny)).toThrow(/refuses the token/);
    }
  });

  it('repeats the warning for a left-out allow on every hit', () => {
    const cache = new AclClaimCache();
    const claim = json([{ permission: 'allow', action: 'publish', topic: 'a/${zone}' }]);
    const warnings: string[] = [];
    for (let i = 0; i < 3; i++) cache.parse(claim, { onDropped: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(3);
    expect(new Set(warnings).size).toBe(1);
    expect(warnings[0]).toMatch(/left out/);
  });

  it('hands out frozen rules, so one principal cannot change what the next one is granted', () => {
    const cache = new AclClaimCache();
    const claim = json({ pub: ['a/b'] });
    const rules = cache.parse(claim);
    const topics = rules[0]?.topics as string[];
    expect(topics).toEqual(['a/b']);
    expect(() => topics.push('#')).toThrow(TypeError);
    expect(() => (rules as unknown[]).push({ effect: 'allow', actions: ['publish'], topics: ['#'] })).toThrow(
      TypeError,
    );
    expect(cache.parse(claim)).toEqual([{ effect: 'allow', actions: ['publish'], topics: ['a/b'] }]);
  });

  it('with maxBytes 0 keeps nothing', () => {
    const cache = new AclClaimCache({ maxBytes: 0 });
    const claim = json({ pub: ['a/b'] });
    expect(cache.parse(claim)).not.toBe(cache.parse(claim));
    expect(cache.bytes).toBe(0);
  });
});

describe('jwt authenticator with the ACL cache', () => {
  let privateKey: CryptoKey;
  let publicJwk: JWK;
  const now = 1_800_000_000_000;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    publicJwk = await exportJWK(pair.publicKey);
  });

  const sign = (claims: JWTPayload) =>
    new SignJWT({ iss: 'https://idp.test', aud: 'mqtt', sub: 'device-1', exp: now / 1000 + 300, ...claims })
      .setProtectedHeader({ alg: 'ES256' })
      .sign(privateKey);

  it('gives each token the rules of its own ACL claim, in any order of logins', async () => {
    const jwt = createJwtAuthenticator({
      keys: { publicKey: publicJwk },
      issuer: 'https://idp.test',
      audience: 'mqtt',
      now: () => now,
    });
    const narrow = await sign({ acl: { pub: ['devices/${clientid}/up'] } });
    const wide = await sign({ acl: { pub: ['devices/#'], sub: ['#'] } });
    const none = await sign({ acl: [] });
    const expected = new Map([
      [narrow, parseAclClaim({ pub: ['devices/${clientid}/up'] })],
      [wide, parseAclClaim({ pub: ['devices/#'], sub: ['#'] })],
      [none, []],
    ]);
    for (const token of [narrow, wide, narrow, none, wide, none, narrow]) {
      const outcome = await jwt.authenticate(withPassword(token));
      expect(outcome).toMatchObject({ outcome: 'allow', principal: { rules: expected.get(token) } });
    }
  });
});

import type { AuthOutcome } from '@mqtt-warden/core';
import { parseAclClaim } from '@mqtt-warden/jwt';
import { createIntrospectionClient, createOAuthAuthenticator } from '@mqtt-warden/oauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPassword } from './connect-request.js';
import { FakeIntrospection } from './fake-introspection.js';

// Properties: the OAuth authenticator translates ACL claims through the byte-bounded claim cache, and a
// token whose claim text differs only subtly from another's (key order, escapes, duplicate keys, a number
// JSON.stringify cannot write) never gets the other's translation.

/** ACL claims as an authorization server could write them; neighbours differ only subtly. */
const CLAIMS = [
  '{"pub":["a/1"],"sub":["b/#"]}',
  '{"sub":["b/#"],"pub":["a/1"]}',
  '{"pub":["a/\\u0023"]}',
  '{"pub":["a/#"]}',
  '{"pub":["a/\\\\u0023"]}',
  '{"pub":["a/1"],"pub":["#"]}',
  '{"pub":["#"],"pub":["a/1"]}',
  '{"pub":["a/1"]}',
  '[{"permission":"allow","action":"all","topic":"a/#","qos":null}]',
  '[{"permission":"allow","action":"all","topic":"a/#","qos":1e400}]',
  '[{"permission":"allow","action":"publish","topic":"a/#","retain":null}]',
  '[{"permission":"allow","action":"publish","topic":"a/#","retain":-1e999}]',
  '[{"permission":"allow","action":"publish","topic":"a/#","qos":-0}]',
  '[{"permission":"allow","action":"publish","topic":"a/#","qos":0}]',
];

/** What the claim grants when translated on its own: its rules, or the refusal. */
function expected(claim: string): object {
  try {
    return { outcome: 'allow', rules: parseAclClaim(JSON.parse(claim)) };
  } catch (error) {
    return { outcome: 'deny', message: (error as Error).message };
  }
}

/** What a login granted, in the form of {@link expected}. */
function granted(outcome: AuthOutcome): object {
  if (outcome.outcome === 'allow') return { outcome: 'allow', rules: outcome.principal.rules ?? [] };
  return { outcome: outcome.outcome, message: 'message' in outcome ? outcome.message : undefined };
}

describe('oauth authenticator: ACL claims through the claim cache', () => {
  const endpoint = new FakeIntrospection();
  beforeAll(() => endpoint.start());
  afterAll(() => endpoint.stop());

  const oauth = (aclCacheBytes?: number) =>
    createOAuthAuthenticator({
      introspection: createIntrospectionClient({
        endpoint: endpoint.url,
        clientId: 'broker',
        clientSecret: 'secret',
        cacheTtlMs: 0,
      }),
      claims: { aclClaim: 'acl' },
      aclCacheBytes,
    });

  /** Logs in with a token whose introspection answer carries `claim` as written. */
  const login = (authenticator: ReturnType<typeof oauth>, claim: string) => {
    endpoint.answer = `{"active":true,"sub":"sensor-1","acl":${claim}}`;
    return authenticator.authenticate(withPassword('opaque-token'));
  };

  it('answers each claim with its own translation, whichever look-alike came first', async () => {
    const translations = new Set(CLAIMS.map((claim) => JSON.stringify(expected(claim))));
    expect(translations.size).toBeGreaterThanOrEqual(9); // the look-alikes mostly differ, so a mix-up shows
    expect(expected(CLAIMS[9]!)).toMatchObject({ outcome: 'deny' }); // 1e400 is no QoS
    // Every claim after every other, in both orders, through one authenticator (one cache).
    const authenticator = oauth();
    for (const first of CLAIMS) {
      for (const second of CLAIMS) {
        expect(granted(await login(authenticator, first))).toEqual(expected(first));
        expect(granted(await login(authenticator, second))).toEqual(expected(second));
      }
    }
  });

  it('reuses the translation of a claim it has seen (the same frozen rules), unless the cache is off', async () => {
    const claim = '{"pub":["devices/${clientid}/up"]}';
    const rulesOf = async (authenticator: ReturnType<typeof oauth>) => {
      const outcome = await login(authenticator, claim);
      if (outcome.outcome !== 'allow') throw new Error(JSON.stringify(outcome));
      return outcome.principal.rules![0];
    };
    const cached = oauth();
    const rule = await rulesOf(cached);
    expect(rule).toEqual({ effect: 'allow', actions: ['publish'], topics: ['devices/${clientid}/up'] });
    expect(Object.isFrozen(rule)).toBe(true);
    expect(await rulesOf(cached)).toBe(rule);
    const uncached = oauth(0);
    expect(await rulesOf(uncached)).not.toBe(await rulesOf(uncached));
  });
});

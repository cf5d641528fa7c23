import { generateKeyPairSync } from 'node:crypto';
import { createJwtVerifier } from '@mqtt-warden/jwt';
import { type JWK, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';

// Property: importing the one allowed key into WebCrypto once (a speed-up) loses no check. Tokens are
// verified both before and after the import has settled.

const settled = () => new Promise((resolve) => setTimeout(resolve, 50));
const tamper = (token: string) => {
  const [h, p, s = ''] = token.split('.');
  return `${h}.${p}.${s.startsWith('A') ? `B${s.slice(1)}` : `A${s.slice(1)}`}`;
};
const claims = { sub: 'device-1', iss: 'https://idp.test', aud: 'mqtt' };
const options = { issuer: 'https://idp.test', audience: 'mqtt' };

describe('a verifier with one allowed algorithm', () => {
  it('HS256: accepts the good token and refuses a tampered one, another HMAC alg and another secret', async () => {
    const secret = new TextEncoder().encode('s'.repeat(40));
    const verifier = createJwtVerifier({ keys: { secret }, algorithms: ['HS256'], ...options });
    const sign = (alg: string, key = secret) =>
      new SignJWT(claims).setProtectedHeader({ alg }).setExpirationTime('5m').sign(key);
    const good = await sign('HS256');
    const hs384 = await sign('HS384');
    const otherSecret = await sign('HS256', new TextEncoder().encode('t'.repeat(40)));
    for (const phase of ['before', 'after']) {
      if (phase === 'after') await settled();
      await expect(verifier.verify(good)).resolves.toMatchObject({ payload: { sub: 'device-1' } });
      await expect(verifier.verify(tamper(good))).rejects.toMatchObject({ code: 'ERR_TOKEN_SIGNATURE' });
      await expect(verifier.verify(otherSecret)).rejects.toMatchObject({ code: 'ERR_TOKEN_SIGNATURE' });
      await expect(verifier.verify(hs384)).rejects.toMatchObject({ code: 'ERR_TOKEN_ALGORITHM' });
    }
  });

  it('RS256: refuses PS256 with the same key, a tampered token and a wrong audience', async () => {
    // A KeyObject signs with either RSA scheme (a WebCrypto key is tied to one).
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const verifier = createJwtVerifier({
      keys: { publicKey: pair.publicKey.export({ format: 'jwk' }) as JWK },
      algorithms: ['RS256'],
      ...options,
    });
    const sign = (alg: string, aud = 'mqtt') =>
      new SignJWT({ ...claims, aud })
        .setProtectedHeader({ alg })
        .setExpirationTime('5m')
        .sign(pair.privateKey);
    const good = await sign('RS256');
    const ps256 = await sign('PS256');
    const otherAudience = await sign('RS256', 'other');
    for (const phase of ['before', 'after']) {
      if (phase === 'after') await settled();
      await expect(verifier.verify(good)).resolves.toMatchObject({ payload: { sub: 'device-1' } });
      await expect(verifier.verify(tamper(good))).rejects.toMatchObject({ code: 'ERR_TOKEN_SIGNATURE' });
      await expect(verifier.verify(ps256)).rejects.toMatchObject({ code: 'ERR_TOKEN_ALGORITHM' });
      await expect(verifier.verify(otherAudience)).rejects.toMatchObject({ code: 'ERR_TOKEN_CLAIM' });
    }
  });
});

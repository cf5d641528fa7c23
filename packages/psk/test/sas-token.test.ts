import { ConfigError, type ConnectRequest, createGuard } from '@mqtt-warden/core';
import { describe, expect, it } from 'vitest';
import {
  createSasToken,
  createSasTokenAuthenticator,
  SasTokenError,
  type SasTokenErrorCode,
  verifySasToken,
} from '../src/index.js';

// Vectors computed independently with python3 (hmac, hashlib, base64, urllib.parse.quote(safe='')):
//   sr = quote(host + '/devices/' + id); sig = quote(b64(HMAC-SHA256(key, sr + '\n' + se)))
const HOST = 'myhub.azure-devices.net';
const KEY = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8='; // bytes 0..31
const TOKEN_2030 =
  'SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fdev%281%29%2A&sig=4%2BfRW6Ejipk62DkT4jW0IPKl6pDxw%2BlOZxdtwqLcing%3D&se=1893456000';
const TOKEN_2023 =
  'SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fsensor-7&sig=dqL3kP%2Ftua%2FSGA3wBN7vJDti0M8VZo%2BzGG%2BFJzFLNpw%3D&se=1700000000';
const POLICY_KEY = 'c2VjcmV0LXBvbGljeS1rZXktMzItYnl0ZXMtbG9uZyE=';
const POLICY_TOKEN =
  'SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fdev2&sig=bl1%2BOp%2FsVGvrTGymcUKwrV75scef6cl2aJaP0Ms70d4%3D&se=1893456000&skn=device';

const NOW_2025 = Date.UTC(2025, 0, 1);
const devices = new Map([
  ['dev(1)*', KEY],
  ['sensor-7', KEY],
]);
const options = { hostName: HOST, getKey: (id: string) => devices.get(id), now: () => NOW_2025 };

async function codeOf(promise: Promise<unknown>): Promise<SasTokenErrorCode> {
  const error = await promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SasTokenError);
  return (error as SasTokenError).code;
}

describe('createSasToken', () => {
  it('reproduces the independently computed tokens', () => {
    expect(createSasToken({ hostName: HOST, deviceId: 'dev(1)*', key: KEY, expiresAt: 1893456000 })).toBe(
      TOKEN_2030,
    );
    expect(
      createSasToken({
        hostName: HOST,
        deviceId: 'sensor-7',
        key: Buffer.from(KEY, 'base64'),
        expiresAt: new Date(1700000000_000),
      }),
    ).toBe(TOKEN_2023);
    expect(
      createSasToken({
        hostName: HOST,
        deviceId: 'dev2',
        key: POLICY_KEY,
        expiresAt: 1893456000,
        policyName: 'device',
      }),
    ).toBe(POLICY_TOKEN);
  });

  it('defaults to one hour from now and refuses a non-base64 key string', () => {
    const token = createSasToken({ hostName: HOST, deviceId: 'd', key: KEY, now: () => 1_000_000 });
    expect(token.endsWith('&se=4600')).toBe(true);
    expect(() => createSasToken({ hostName: HOST, deviceId: 'd', key: 'not base64!', now: () => 0 })).toThrow(
      ConfigError,
    );
  });
});

describe('verifySasToken', () => {
  it('accepts a valid token and binds it to the device in sr', async () => {
    await expect(verifySasToken(TOKEN_2030, options)).resolves.toEqual({
      deviceId: 'dev(1)*',
      hostName: HOST,
      expiresAt: 1893456000_000,
    });
  });

  it('accepts the fields in any order', async () => {
    const [, fields = ''] = TOKEN_2030.split(' ');
    const reordered = `SharedAccessSignature ${fields.split('&').reverse().join('&')}`;
    await expect(verifySasToken(reordered, options)).resolves.toMatchObject({ deviceId: 'dev(1)*' });
  });

  it('refuses an expired token only after its signature checks out', async () => {
    expect(await codeOf(verifySasToken(TOKEN_2023, options))).toBe('ERR_SAS_TOKEN_EXPIRED');
    await expect(
      verifySasToken(TOKEN_2023, { ...options, now: () => 1699999999_000 }),
    ).resolves.toMatchObject({
      deviceId: 'sensor-7',
    });
    expect(await codeOf(verifySasToken(TOKEN_2023, { ...options, now: () => 1700000000_000 }))).toBe(
      'ERR_SAS_TOKEN_EXPIRED',
    );
  });

  it('refuses a wrong key, a tampered signature, expiry or resource', async () => {
    const otherKey = { ...options, getKey: () => POLICY_KEY };
    expect(await codeOf(verifySasToken(TOKEN_2030, otherKey))).toBe('ERR_SAS_TOKEN_SIGNATURE');
    const tampered = TOKEN_2030.replace('sig=4', 'sig=5');
    expect(await codeOf(verifySasToken(tampered, options))).toBe('ERR_SAS_TOKEN_SIGNATURE');
    const extended = TOKEN_2030.replace('se=1893456000', 'se=1893456001');
    expect(await codeOf(verifySasToken(extended, options))).toBe('ERR_SAS_TOKEN_SIGNATURE');
    // sensor-7's key is the same, so only the signature over sr protects the binding.
    const moved = TOKEN_2030.replace('dev%281%29%2A', 'sensor-7');
    expect(await codeOf(verifySasToken(moved, options))).toBe('ERR_SAS_TOKEN_SIGNATURE');
    const truncated = TOKEN_2030.replace('sig=4%2B', 'sig=');
    expect(await codeOf(verifySasToken(truncated, options))).toBe('ERR_SAS_TOKEN_SIGNATURE');
  });

  it('refuses a token for another host, a module or a non-device resource', async () => {
    expect(await codeOf(verifySasToken(TOKEN_2030, { ...options, hostName: 'other.example.com' }))).toBe(
      'ERR_SAS_TOKEN_RESOURCE',
    );
    await expect(
      verifySasToken(TOKEN_2030, { ...options, hostName: 'MyHub.Azure-Devices.NET' }),
    ).resolves.toBeTruthy();
    for (const resource of [
      'myhub.azure-devices.net%2Fdevices%2Fd%2Fmodules%2Fm',
      'myhub.azure-devices.net',
      'x%2Fdevices%2F',
    ]) {
      const token = `SharedAccessSignature sr=${resource}&sig=AAAA&se=1893456000`;
      expect(await codeOf(verifySasToken(token, options))).toBe('ERR_SAS_TOKEN_RESOURCE');
    }
  });

  it('refuses an unknown device, and a policy token unless its policy key is served', async () => {
    expect(await codeOf(verifySasToken(POLICY_TOKEN, options))).toBe('ERR_SAS_TOKEN_UNKNOWN_DEVICE');
    const policies = {
      ...options,
      getKey: (_id: string, policy?: string) => (policy === 'device' ? POLICY_KEY : undefined),
    };
    await expect(verifySasToken(POLICY_TOKEN, policies)).resolves.toMatchObject({
      deviceId: 'dev2',
      policyName: 'device',
    });
  });

  it.each([
    'sr=a%2Fdevices%2Fb&sig=AAAA&se=1893456000',
    'SharedAccessSignature sr=a%2Fdevices%2Fb&sig=AAAA',
    'SharedAccessSignature sr=a%2Fdevices%2Fb&sig=AAAA&se=1893456000&se=1893456000',
    'SharedAccessSignature sr=a%2Fdevices%2Fb&sig=AAAA&se=1893456000&foo=bar',
    'SharedAccessSignature sr=a%2Fdevices%2Fb&sig=AAAA&se=soon',
    'SharedAccessSignature sr=a%2Fdevices%2Fb&sig=AAAA&se=-1',
    'SharedAccessSignature sr=%E0%A4%A&sig=AAAA&se=1893456000',
    'SharedAccessSignature sr=&sig=AAAA&se=1893456000',
    'SharedAccessSignature sr',
  ])('refuses the malformed token %j', async (token) => {
    expect(await codeOf(verifySasToken(token, options))).toBe('ERR_SAS_TOKEN_MALFORMED');
  });
});

describe('createSasTokenAuthenticator', () => {
  const authenticator = createSasTokenAuthenticator(options);
  const connect = (password: string | undefined, more: Partial<ConnectRequest> = {}): ConnectRequest => ({
    clientId: 'dev(1)*',
    username: 'dev(1)*',
    password: password === undefined ? undefined : Buffer.from(password),
    transport: { tls: true, remoteAddress: '127.0.0.1' },
    ...more,
  });

  it('turns a valid token into a principal that expires with the token', async () => {
    const outcome = await authenticator.authenticate(connect(TOKEN_2030));
    expect(outcome).toEqual({
      outcome: 'allow',
      principal: {
        id: 'dev(1)*',
        clientId: 'dev(1)*',
        username: 'dev(1)*',
        method: 'sas-token',
        roles: [],
        attributes: { 'device.id': 'dev(1)*', 'sas.hostName': HOST },
        expiresAt: 1893456000_000,
        remoteAddress: '127.0.0.1',
        tls: true,
      },
    });
  });

  it('ignores connects without a SAS token password', async () => {
    expect(await authenticator.authenticate(connect(undefined))).toEqual({ outcome: 'ignore' });
    expect(await authenticator.authenticate(connect('hunter2'))).toEqual({ outcome: 'ignore' });
    expect(await authenticator.authenticate(connect('Shared'))).toEqual({ outcome: 'ignore' });
  });

  it('denies bad, expired and mismatched tokens with the right reason', async () => {
    expect(await authenticator.authenticate(connect(TOKEN_2030.replace('sig=4', 'sig=5')))).toMatchObject({
      outcome: 'deny',
      reason: 'bad-credentials',
    });
    expect(await authenticator.authenticate(connect(TOKEN_2023, { clientId: 'sensor-7' }))).toMatchObject({
      outcome: 'deny',
      reason: 'expired',
    });
    expect(await authenticator.authenticate(connect(TOKEN_2030, { clientId: 'someone-else' }))).toMatchObject(
      {
        outcome: 'deny',
        reason: 'not-authorized',
      },
    );
    const anyClient = createSasTokenAuthenticator({ ...options, requireClientIdMatch: false });
    expect(await anyClient.authenticate(connect(TOKEN_2030, { clientId: 'someone-else' }))).toMatchObject({
      outcome: 'allow',
    });
  });

  it('proves the device id as username: a chosen CONNECT username is refused by default, or only claimed', async () => {
    expect(authenticator.provesUsername).toBe(true);
    expect(await authenticator.authenticate(connect(TOKEN_2030, { username: 'admin' }))).toMatchObject({
      outcome: 'deny',
      reason: 'not-authorized',
    });
    expect(await authenticator.authenticate(connect(TOKEN_2030, { username: undefined }))).toMatchObject({
      outcome: 'deny',
    });
    const claimed = createSasTokenAuthenticator({ ...options, connectUsername: 'claimed' });
    expect(claimed.provesUsername).toBe(false);
    const outcome = await claimed.authenticate(connect(TOKEN_2030, { username: 'admin' }));
    expect(outcome).toMatchObject({
      outcome: 'allow',
      principal: { id: 'dev(1)*', username: 'dev(1)*', claimedUsername: 'admin' },
    });
  });

  it('checks the username in Azure form when configured, keeping it as claimed only', async () => {
    const azure = createSasTokenAuthenticator({ ...options, connectUsername: 'azure' });
    expect(azure.provesUsername).toBe(false);
    const ok = `${HOST}/dev(1)*/?api-version=2021-04-12`;
    expect(await azure.authenticate(connect(TOKEN_2030, { username: ok }))).toMatchObject({
      outcome: 'allow',
      principal: { username: 'dev(1)*', claimedUsername: ok },
    });
    expect(
      await azure.authenticate(
        connect(TOKEN_2030, { username: `MYHUB.azure-devices.net/dev(1)*/?api-version=1` }),
      ),
    ).toMatchObject({ outcome: 'allow' });
    for (const username of [undefined, `${HOST}/sensor-7/?api-version=1`, `${HOST}/dev(1)*`, 'dev(1)*']) {
      expect(await azure.authenticate(connect(TOKEN_2030, { username }))).toMatchObject({
        outcome: 'deny',
        reason: 'not-authorized',
      });
    }
  });

  it('works in a guard chain and never echoes the token in messages', async () => {
    const guard = createGuard({
      authenticators: [authenticator],
      authorizer: { authorize: () => ({ allowed: true, reason: 'default' }) },
      now: () => NOW_2025,
    });
    const ok = await guard.authenticate(connect(TOKEN_2030));
    expect(ok).toMatchObject({ ok: true, authenticator: 'sas-token', principal: { id: 'dev(1)*' } });
    const bad = await guard.authenticate(connect(TOKEN_2030.replace('sig=4', 'sig=5')));
    expect(bad).toMatchObject({ ok: false, reason: 'bad-credentials' });
    expect(JSON.stringify(bad)).not.toContain('sig=');
    expect(JSON.stringify(bad)).not.toContain('RW6Ejipk62');
  });
});

import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { createWardenServer, parseServerConfig, Secret } from '@mqtt-warden/server';
import { afterEach, describe, expect, it } from 'vitest';
import { epoch, signJwt } from './tokens.js';

const QUICKSTART = fileURLToPath(new URL('../../../examples/quickstart/', import.meta.url));
const HEAD = 'policy: { file: policy.yaml }\nlog: { level: silent }\nauthenticators:\n';

function errorOf(fn: () => unknown): { message: string; code?: string } {
  try {
    fn();
  } catch (error) {
    return error as { message: string; code?: string };
  }
  throw new Error('expected an error');
}

async function rejectionOf(promise: Promise<unknown>): Promise<{ message: string; code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { message: string; code?: string };
  }
  throw new Error('expected a rejection');
}

/** A directory with the quickstart policy and users, and a config written from `body`. */
function workspace(body: string) {
  const dir = mkdtempSync(join(tmpdir(), 'warden-config-'));
  for (const f of ['policy.yaml', 'users.yaml']) copyFileSync(join(QUICKSTART, f), join(dir, f));
  const file = join(dir, 'warden.yaml');
  writeFileSync(file, HEAD + body);
  return { dir, file, config: () => parseServerConfig(HEAD + body, { file }) };
}

describe('located errors in the new authenticator blocks', () => {
  it('jwt: keys, algorithms and URLs', () => {
    // Lines 4-8 each hold one mistake.
    const { message, code } = errorOf(() =>
      parseServerConfig(
        `${HEAD}  - type: jwt
    keys: { secret: "0123456789abcdef0123456789abcdef", jwksUrl: "https://idp.example/jwks" }
  - { type: jwt, keys: { publicKey: { file: k.pem } }, algorithms: [RS256, HS256] }
  - { type: jwt, keys: { jwksUrl: "ftp://idp.example/jwks" } }
  - { type: jwt, keys: { secret: "0123456789abcdef0123456789abcdef" }, algorithms: [none] }
  - { type: jwt, keys: { publicKey: "not a pem", timeoutMs: 5 } }
`,
        { file: 'w.yaml' },
      ),
    );
    expect(code).toBe('ERR_CONFIG_INVALID');
    expect(message).toMatch(
      /w\.yaml:5:\d+: .*exactly one of secret, publicKey, jwksUrl \(found secret, jwksUrl\)/,
    );
    expect(message).toMatch(/w\.yaml:6:\d+: .*HS256 needs keys\.secret/);
    expect(message).toMatch(/w\.yaml:7:\d+: .*http:\/\/ or https:\/\/ URL/);
    expect(message).toMatch(/w\.yaml:8:\d+: .*"none" is never accepted/);
    expect(message).toMatch(/w\.yaml:9:\d+: .*PEM public key/);
    expect(message).toMatch(/w\.yaml:9:\d+: .*"timeoutMs" only applies to a jwksUrl/);
  });

  it('oauth: neither verifier, missing client secret, bad endpoint, bad secret source', () => {
    const { message } = errorOf(() =>
      parseServerConfig(
        `${HEAD}  - { type: oauth, scopes: { prefix: mqtt } }
  - type: oauth
    introspection: { endpoint: "https://idp.example/introspect", clientId: broker }
  - { type: oauth, introspection: { endpoint: nowhere, clientId: b, clientSecret: s } }
  - { type: oauth, introspection: { endpoint: "http://idp", clientId: b, clientSecret: { env: "not a name" } } }
`,
        { file: 'w.yaml' },
      ),
    );
    expect(message).toMatch(/w\.yaml:4:\d+: .*needs "introspection", "jwt" or both/);
    expect(message).toMatch(/w\.yaml:6:\d+: .*clientSecret.* is required/);
    expect(message).toMatch(/w\.yaml:7:\d+: .*URL/);
    expect(message).toMatch(/w\.yaml:8:\d+: .*environment variable name/);
  });

  it('x509 and sas-token', () => {
    const { message } = errorOf(() =>
      parseServerConfig(
        `${HEAD}  - { type: x509, trustAnchors: [] }
  - { type: x509, trustAnchors: [ca.pem], crl: {} }
  - { type: x509, trustAnchors: [ca.pem], identity: { id: email } }
  - { type: sas-token, keys: { file: d.psk, format: azure } }
  - { type: sas-token, keys: { file: d.psk }, username: sometimes }
  - { type: sas-tokens, keys: { file: d.psk } }
`,
        { file: 'w.yaml' },
      ),
    );
    expect(message).toMatch(/w\.yaml:4:\d+: .*at least one CA certificate file/);
    expect(message).toMatch(/w\.yaml:5:\d+: .*"crl" needs files, urls or both/);
    expect(message).toMatch(/w\.yaml:6:\d+: .*identity\.id.* must be one of: "cn", "dn"/);
    expect(message).toMatch(/w\.yaml:7:\d+: .*format.* must be one of: "mosquitto", "emqx"/);
    expect(message).toMatch(/w\.yaml:8:\d+: .*username/);
    expect(message).toMatch(/w\.yaml:9:\d+: .*"type" must be one of: password, jwt, oauth, x509, sas-token/);
  });

  it('deviceTokens', () => {
    const { message } = errorOf(() =>
      parseServerConfig(
        `${HEAD}  - { type: password, file: users.yaml }
deviceTokens:
  enabled: true
  path: token
  lifetimeSeconds: 5
  algorithm: HS256
  rotation: { afterSecond: 10 }
`,
        { file: 'w.yaml' },
      ),
    );
    expect(message).toMatch(/w\.yaml:7:\d+: .*a path starts with "\/"/);
    expect(message).toMatch(/w\.yaml:8:\d+: .*lifetimeSeconds/);
    expect(message).toMatch(/w\.yaml:9:\d+: .*algorithm.* must be one of: "ES256"/);
    expect(message).toMatch(/w\.yaml:10:\d+: .*unknown key "afterSecond" \(did you mean "afterSeconds"\?\)/);
  });

  it('defaults: device tokens off unless enabled, with /token and /.well-known/jwks.json', () => {
    const plain = parseServerConfig(`${HEAD}  - { type: password, file: users.yaml }\n`);
    expect(plain.deviceTokens).toBeUndefined();
    const on = parseServerConfig(
      `${HEAD}  - { type: password, file: users.yaml }\ndeviceTokens: { enabled: true }\n`,
    );
    expect(on.deviceTokens).toEqual({
      enabled: true,
      path: '/token',
      jwksPath: '/.well-known/jwks.json',
      issuer: 'mqtt-warden',
      audience: 'mqtt',
      lifetimeSeconds: 600,
      algorithm: 'ES256',
      rotation: { afterSeconds: 86_400, overlapSeconds: 60 },
    });
  });
});

describe('secrets', () => {
  const saved = process.env.WARDEN_TEST_SECRET;
  afterEach(() => {
    if (saved === undefined) delete process.env.WARDEN_TEST_SECRET;
    else process.env.WARDEN_TEST_SECRET = saved;
  });

  it('come inline, from a file (trailing newline dropped, path relative to the config) or from the environment', async () => {
    const { dir, config } = workspace(
      `  - { type: jwt, keys: { secret: "inline-secret-0123456789abcdef012345" } }
  - { type: jwt, keys: { secret: { file: hmac.key } } }
  - { type: jwt, keys: { secret: { env: WARDEN_TEST_SECRET } } }
`,
    );
    writeFileSync(join(dir, 'hmac.key'), 'file-secret-0123456789abcdef0123456\n');
    process.env.WARDEN_TEST_SECRET = 'env-secret-0123456789abcdef01234567';
    const secrets = config().authenticators.map((a) => (a.type === 'jwt' ? a.keys.secret : undefined));
    expect(await Promise.all(secrets.map((s) => s?.reveal()))).toEqual([
      'inline-secret-0123456789abcdef012345',
      'file-secret-0123456789abcdef0123456',
      'env-secret-0123456789abcdef01234567',
    ]);
  });

  it('print as [redacted] in JSON, util.inspect and String()', () => {
    const { config } = workspace(
      `  - { type: jwt, keys: { secret: "inline-secret-0123456789abcdef012345" } }\n`,
    );
    const parsed = config();
    expect(JSON.stringify(parsed)).not.toContain('inline-secret');
    expect(JSON.stringify(parsed)).toContain('"secret":"[redacted]"');
    expect(inspect(parsed, { depth: 10 })).not.toContain('inline-secret');
    expect(String(new Secret({ value: 'inline-secret' }))).toBe('[redacted]');
  });

  it("that cannot be read stop the server with the secret's location and without its value", async () => {
    delete process.env.WARDEN_TEST_SECRET;
    const env = workspace(`  - type: jwt\n    keys: { secret: { env: WARDEN_TEST_SECRET } }\n`);
    const unset = await rejectionOf(createWardenServer(env.config()));
    expect(unset.code).toBe('ERR_CONFIG_INVALID');
    expect(unset.message).toBe(
      `${env.file}:5:21 (authenticators.0.keys.secret): the environment variable WARDEN_TEST_SECRET is not set`,
    );

    const file = workspace(`  - type: jwt\n    keys: { secret: { file: missing.key } }\n`);
    expect((await rejectionOf(createWardenServer(file.config()))).message).toMatch(
      /warden\.yaml:5:21 \(authenticators\.0\.keys\.secret\): cannot read the secret file .*missing\.key \(ENOENT\)/,
    );

    const short = workspace(
      `  - { type: password, file: users.yaml }\n  - { type: jwt, keys: { secret: "short-secret" } }\n`,
    );
    const tooShort = await rejectionOf(createWardenServer(short.config()));
    expect(tooShort.message).toMatch(/warden\.yaml:5:5 \(authenticators\.1\): the HMAC secret is 12 bytes/);
    expect(tooShort.message).not.toContain('short-secret');
  });
});

describe('startup errors are located at their authenticator', () => {
  it('a public key that does not fit the algorithms, a missing CA file, a bad device keys file', async () => {
    const { dir, config } = workspace(
      `  - { type: jwt, keys: { publicKey: { file: ec.pem } }, algorithms: [RS256] }\n`,
    );
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(join(dir, 'ec.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
    expect((await rejectionOf(createWardenServer(config()))).message).toMatch(
      /warden\.yaml:4:5 \(authenticators\.0\): algorithm RS256 cannot be used with this key; allowed: ES256/,
    );

    const x509 = workspace(`  - { type: x509, trustAnchors: [nope.pem] }\n`);
    expect((await rejectionOf(createWardenServer(x509.config()))).message).toMatch(
      /warden\.yaml:4:5 \(authenticators\.0\): cannot read the CA certificate file .*nope\.pem \(ENOENT\)/,
    );

    const sas = workspace(`  - { type: sas-token, keys: { file: devices.psk } }\n`);
    writeFileSync(join(sas.dir, 'devices.psk'), 'dev1:00112233\ndev2:not-hex\n');
    expect((await rejectionOf(createWardenServer(sas.config()))).message).toMatch(
      /warden\.yaml:4:5 \(authenticators\.0\): line 2: the key of identity "dev2" is not hexadecimal/,
    );
  });
});

describe('documented configs parse', () => {
  it('the README examples of the authenticator chain and the device tokens', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] as string);
    const chain = blocks.find((b) => b.startsWith('authenticators:'));
    const tokens = blocks.find((b) => b.startsWith('deviceTokens:'));
    const config = parseServerConfig(`policy: { file: p.yaml }\n${chain}${tokens}`);
    expect(config.authenticators.map((a) => a.type)).toEqual([
      'x509',
      'sas-token',
      'jwt',
      'password',
      'oauth',
    ]);
    expect(config.deviceTokens?.enabled).toBe(true);
  });

  it('the quickstart config as is (password only, no device tokens) and with its commented blocks enabled', () => {
    const text = readFileSync(join(QUICKSTART, 'warden.yaml'), 'utf8');
    const plain = parseServerConfig(text, { baseDir: QUICKSTART });
    expect(plain.authenticators.map((a) => a.type)).toEqual(['password']);
    expect(plain.deviceTokens).toBeUndefined();

    const enabled = text
      .split('\n')
      .map((line) => line.replace(/^(\s*)# (\s*(?:- type:|[A-Za-z]+:(?: |$)))/, '$1$2'))
      .join('\n');
    const all = parseServerConfig(enabled, { baseDir: QUICKSTART });
    expect(all.authenticators.map((a) => a.type)).toEqual(['x509', 'sas-token', 'jwt', 'password', 'oauth']);
    expect(all.deviceTokens).toMatchObject({ enabled: true, path: '/token', lifetimeSeconds: 600 });
  });
});

describe('bounds in the server config', () => {
  it('password `limits` reach the authenticator: a verification past the queue is answered as unavailable', async () => {
    const { config } = workspace(
      '  - { type: password, file: users.yaml, limits: { concurrency: 1, maxQueue: 0 } }\n' +
        'adapters: { emqx: { onError: ignore } }\n' +
        'cache: { decisions: { maxBytes: 1048576, maxTopicLength: 256 } }\n',
    );
    const server = await createWardenServer(config());
    try {
      const authn = (password: string) =>
        server.app
          .inject({
            method: 'POST',
            url: '/emqx/authn',
            payload: { clientid: 'demo', username: 'demo', password },
          })
          .then((r) => r.json().result as string);
      const answers = await Promise.all([authn('demo-password'), authn('wrong'), authn('wrong again')]);
      expect(answers).toEqual(['allow', 'ignore', 'ignore']);
    } finally {
      await server.close();
    }
  });

  it("the README's Bounds example parses and sets what it says", () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const block = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)]
      .map((m) => m[1] as string)
      .find((b) => b.includes('limits:'));
    const config = parseServerConfig(`policy: { file: p.yaml }\n${block}`);
    expect(config.authenticators[0]).toMatchObject({ limits: { concurrency: 4, maxWaitMs: 3000 } });
    expect(config.cache.decisions).toMatchObject({ maxBytes: 16 * 2 ** 20, maxTopicLength: 1024 });
  });

  it('bounds the decision cache in entries, with the location of a bound too large', () => {
    const cache = (max: number) =>
      parseServerConfig(
        `${HEAD}  - { type: password, file: users.yaml }\ncache: { decisions: { max: ${max} } }\n`,
        { file: 'w.yaml' },
      );
    expect(cache(10_000_000).cache.decisions).toMatchObject({ max: 10_000_000 });
    const { message } = errorOf(() => cache(10_000_001));
    expect(message).toMatch(/w\.yaml:\d+:\d+: .*at most 10000000 entries/);
  });

  it('rejects limits that cannot work, with their location', () => {
    const { message } = errorOf(() =>
      workspace(
        '  - { type: password, file: users.yaml, limits: { concurrency: 0, maxWaitMs: 600000 } }\n',
      ).config(),
    );
    expect(message).toMatch(/authenticators\.0\.limits\.concurrency/);
    expect(message).toMatch(/authenticators\.0\.limits\.maxWaitMs/);
  });
});

describe('connectUsername and username mappings', () => {
  const SECRET = '0123456789abcdef0123456789abcdef';
  let server: Awaited<ReturnType<typeof createWardenServer>> | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('refuses a binding to the username, pointing to claims.username, and unknown modes', () => {
    const { message } = errorOf(() =>
      parseServerConfig(
        `${HEAD}  - { type: jwt, keys: { secret: "${SECRET}" }, bind: { claim: sub, to: username } }
  - { type: sas-token, keys: { file: d.psk }, connectUsername: device-id }
`,
        { file: 'w.yaml' },
      ),
    );
    expect(message).toMatch(/w\.yaml:4:\d+: .*write claims\.username: CLAIM/);
    expect(message).toMatch(/w\.yaml:5:\d+: .*"must-match", "azure" or "claimed"/);
  });

  it('refuses must-match without a proven username, naming the block', async () => {
    const { config } = workspace(
      `  - { type: jwt, keys: { secret: "${SECRET}" }, connectUsername: must-match }\n`,
    );
    const error = await rejectionOf(createWardenServer(config()));
    expect(error).toMatchObject({
      code: 'ERR_CONFIG_INVALID',
      message: expect.stringMatching(/usernameClaim/),
    });
  });

  it('a jwt with claims.username: the token proves the username; "admin" as CONNECT username is refused', async () => {
    const { config } = workspace(
      `  - { type: jwt, keys: { secret: "${SECRET}" }, claims: { username: preferred_username } }\n`,
    );
    server = await createWardenServer(config());
    const token = signJwt({ sub: 'u1', preferred_username: 'demo', exp: epoch(60) }, SECRET);
    const authn = async (username: string) =>
      (
        await server!.app.inject({
          method: 'POST',
          url: '/emqx/authn',
          payload: { clientid: 'u1', username, password: token },
        })
      ).json();
    expect(await authn('admin')).toEqual({ result: 'deny' });
    expect(await authn('demo')).toMatchObject({ result: 'allow', is_superuser: false });
  });
});

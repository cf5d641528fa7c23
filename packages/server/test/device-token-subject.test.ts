import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createWardenServer, parseServerConfig, type WardenServer } from '@mqtt-warden/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const QUICKSTART = fileURLToPath(new URL('../../../examples/quickstart/', import.meta.url));
const basic = (username: string, password: string) =>
  `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;

// Issue 10 item 8: a device token stands for a user of the credential store only while that user exists
// and is enabled; disabling or removing the user ends its tokens at the next connect, not at their expiry.
describe('device tokens of a password user end when the user is disabled or removed', () => {
  let server: WardenServer;
  let dir: string;
  let original: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-token-subject-'));
    for (const f of ['policy.yaml', 'users.yaml']) copyFileSync(join(QUICKSTART, f), join(dir, f));
    original = readFileSync(join(dir, 'users.yaml'), 'utf8');
    const config = parseServerConfig(
      `listen: { host: 127.0.0.1, port: 0 }
policy: { file: policy.yaml, watch: false }
authenticators: [{ type: password, file: users.yaml }]
deviceTokens: { enabled: true, lifetimeSeconds: 300 }
`,
      { file: join(dir, 'warden.yaml') },
    );
    server = await createWardenServer(config);
  });
  afterAll(() => server?.close());

  async function token(): Promise<string> {
    const response = await server.app.inject({
      method: 'POST',
      url: '/token',
      headers: { authorization: basic('demo', 'demo-password') },
      payload: { client_id: 'demo' },
    });
    expect(response.statusCode).toBe(200);
    return response.json().access_token as string;
  }

  async function connect(password: string): Promise<unknown> {
    const response = await server.app.inject({
      method: 'POST',
      url: '/emqx/authn',
      payload: { username: 'demo', clientid: 'demo', password },
    });
    return response.json().result;
  }

  async function setUsers(text: string) {
    writeFileSync(join(dir, 'users.yaml'), text);
    await server.reload();
  }

  it('accepts the token while the user is enabled, refuses it once disabled, accepts it again when re-enabled', async () => {
    const issued = await token();
    expect(await connect(issued)).toBe('allow');
    const demo = /( {2}demo:\n {4}hash: \S+\n)/;
    expect(original).toMatch(demo);
    await setUsers(original.replace(demo, '$1    disabled: true\n'));
    expect(await connect(issued)).toBe('deny');
    await setUsers(original);
    expect(await connect(issued)).toBe('allow');
  });

  it('refuses the token of a removed user', async () => {
    const issued = await token();
    await setUsers(original.replace(/ {2}demo:\n {4}hash: \S+\n/, ''));
    expect(await connect(issued)).toBe('deny');
    await setUsers(original);
  });
});

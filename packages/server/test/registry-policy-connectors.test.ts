/**
 * The server on a registry: the store's active policy version decides over the policy file and switches
 * when another is activated; `connectors:` kick a disabled device on the broker (a local HTTP server
 * standing in for EMQX's REST API).
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '@mqtt-warden/password';
import { MemoryRegistry } from '@mqtt-warden/registry';
import { createWardenServer, parseServerConfig, type WardenServer } from '@mqtt-warden/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const context = { actor: 'test' };
const policyText = (topic: string) => `version: 1
roles:
  device:
    rules: [{ effect: allow, actions: publish, topics: "${topic}" }]
`;

describe('server on a registry: active policy version and connectors', () => {
  let dir: string;
  let emqx: Server;
  let emqxUrl: string;
  const kicked: string[] = [];
  let store: MemoryRegistry;
  let server: WardenServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-registry-policy-'));
    writeFileSync(join(dir, 'policy.yaml'), policyText('file/#'));
    emqx = createServer((req, res) => {
      kicked.push(`${req.method} ${req.url}`);
      res.writeHead(204);
      res.end();
    });
    await new Promise<void>((resolve) => emqx.listen(0, '127.0.0.1', resolve));
    emqxUrl = `http://127.0.0.1:${(emqx.address() as AddressInfo).port}/`;
    store = new MemoryRegistry();
    await store.createDevice({ id: 'sensor-1', roles: ['device'] }, context);
    await store.addCredential(
      'sensor-1',
      { kind: 'password', hash: await hashPassword('pw', { memoryCost: 256, timeCost: 1 }) },
      context,
    );
    server = await createWardenServer(
      parseServerConfig(
        `listen: { host: 127.0.0.1, port: 0 }
log: { level: silent }
policy: { file: policy.yaml, watch: false }
authenticators: [{ type: password }]
connectors: { emqx: { url: '${emqxUrl}', apiKey: warden, apiSecret: s3cret } }
`,
        { file: join(dir, 'warden.yaml') },
      ),
      { registry: store },
    );
  });
  afterAll(async () => {
    await server?.close();
    await new Promise<void>((resolve) => emqx.close(() => resolve()));
  });

  async function loginAndPublish(topic: string): Promise<string> {
    const authn = await server.app.inject({
      method: 'POST',
      url: '/emqx/authn',
      payload: { username: 'sensor-1', password: 'pw', clientid: 'sensor-1' },
    });
    expect(authn.json().result).toBe('allow');
    const reply = await server.app.inject({
      method: 'POST',
      url: '/emqx/authz',
      payload: { username: 'sensor-1', clientid: 'sensor-1', topic, action: 'publish' },
    });
    return reply.json().result as string;
  }

  const until = async (check: () => Promise<boolean> | boolean) => {
    for (let i = 0; i < 100 && !(await check()); i++) await new Promise((r) => setTimeout(r, 20));
  };

  it('applies the policy file while no version is active', async () => {
    expect(await loginAndPublish('file/a')).toBe('allow');
    expect(await loginAndPublish('store/a')).toBe('deny');
  });

  it("enforces the store's active version on activation, over the file", async () => {
    const version = await store.addPolicyVersion({ text: policyText('store/#'), format: 'yaml' }, context);
    await store.activatePolicyVersion(version.version, context);
    await until(async () => (await loginAndPublish('store/a')) === 'allow');
    expect(await loginAndPublish('store/a')).toBe('allow');
    expect(await loginAndPublish('file/a')).toBe('deny');
    expect(kicked).toContain('DELETE /api/v5/authorization/cache');
  });

  it('kicks a disabled device on the broker', async () => {
    await store.updateDevice('sensor-1', { enabled: false }, context);
    await until(() => kicked.includes('DELETE /api/v5/clients/sensor-1'));
    expect(kicked).toContain('DELETE /api/v5/clients/sensor-1');
  });

  it('refuses connectors without a store', () => {
    const config = parseServerConfig(
      `listen: { host: 127.0.0.1, port: 0 }
policy: { file: policy.yaml }
authenticators: [{ type: password, file: users.yaml }]
connectors: { emqx: { url: 'http://127.0.0.1:1/', apiKey: k, apiSecret: s } }
`,
      { file: join(dir, 'warden.yaml') },
    );
    return expect(createWardenServer(config)).rejects.toMatchObject({ code: 'ERR_CONFIG_INVALID' });
  });
});

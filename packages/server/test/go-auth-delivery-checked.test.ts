import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createWardenServer, parseServerConfig } from '@mqtt-warden/server';
import { describe, expect, it } from 'vitest';

// adapters.goAuth.deliveryChecked: Mosquitto asks READ before every delivery, so by default the server
// grants a go-auth subscription that overlaps a receive deny; `false` keeps the strict refusal.

const dir = mkdtempSync(join(tmpdir(), 'warden-goauth-'));
writeFileSync(
  join(dir, 'policy.yaml'),
  `version: 1
users: { demo: [viewer] }
roles:
  viewer:
    rules:
      - { effect: allow, actions: read, topics: "site/#" }
      - { effect: deny, actions: receive, topics: "site/private/#" }
`,
);
copyFileSync(
  fileURLToPath(new URL('../../../examples/quickstart/users.yaml', import.meta.url)),
  join(dir, 'users.yaml'),
);

async function answers(goAuth: string) {
  const server = await createWardenServer(
    parseServerConfig(
      `log: { level: silent }\npolicy: { file: policy.yaml }\nauthenticators: [{ type: password, file: users.yaml }]\nadapters: { goAuth: ${goAuth} }\n`,
      { baseDir: dir },
    ),
  );
  const login = await server.app.inject({
    method: 'POST',
    url: '/mosquitto/user',
    payload: { clientid: 'demo', password: 'demo-password', username: 'demo' },
  });
  expect(login.json()).toEqual({ ok: true, error: '' });
  const acl = async (acc: number, topic: string) =>
    (
      await server.app.inject({
        method: 'POST',
        url: '/mosquitto/acl',
        payload: { acc, clientid: 'demo', topic, username: 'demo' },
      })
    ).json<{ ok: boolean }>().ok;
  try {
    return {
      subscribe: await acl(4, 'site/#'),
      readPublic: await acl(1, 'site/a/temp'),
      readPrivate: await acl(1, 'site/private/x'),
    };
  } finally {
    await server.close();
  }
}

describe('go-auth subscriptions through the server', () => {
  it('grants site/# over a receive deny by default and refuses the denied deliveries', async () => {
    expect(await answers('{ responseMode: json }')).toEqual({
      subscribe: true,
      readPublic: true,
      readPrivate: false,
    });
  });

  it('refuses the subscription with deliveryChecked: false', async () => {
    expect(await answers('{ responseMode: json, deliveryChecked: false }')).toEqual({
      subscribe: false,
      readPublic: true,
      readPrivate: false,
    });
  });

  it('refuses a deliveryChecked that is not a boolean, naming the key', () => {
    expect(() =>
      parseServerConfig(
        'policy: { file: p }\nauthenticators: [{ type: password, file: u }]\nadapters: { goAuth: { deliveryChecked: "no" } }\n',
      ),
    ).toThrow(/deliveryChecked/);
  });
});

/**
 * @mqtt-warden/aedes over the wire: a real Aedes broker guarded by the real verifiers and a policy
 * file, served over TCP, TLS, mutual TLS, TLS-PSK and WebSocket; MQTT.js and Debian's mosquitto
 * clients observe every outcome as a client sees it (CONNACK and SUBACK codes from raw packets,
 * closed connections, deliveries).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attachGuard, type WardenHooks } from '@mqtt-warden/aedes';
import { createGuard } from '@mqtt-warden/core';
import { createJwtAuthenticator } from '@mqtt-warden/jwt';
import { createMemoryStore, createPasswordAuthenticator, hashPassword } from '@mqtt-warden/password';
import { type PolicyWatcher, watchPolicy } from '@mqtt-warden/policy';
import { createPskAuthenticator, createPskCallback, PskStore, pskIdentityOf } from '@mqtt-warden/psk';
import { createCertificateVerifier, createX509Authenticator } from '@mqtt-warden/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  collect,
  connect,
  connectedClient,
  createPki,
  delay,
  end,
  type Pki,
  publish,
  startBroker,
  subscribeRaw,
  type TestBroker,
} from '../packages/aedes/test/helpers.js';
import { mosquittoSub, run, signHs256 } from './aedes-helpers.js';

const SECRET = 'wire-test-hmac-secret-of-32-bytes!!';
const PSK_KEY = Buffer.from('6b1f0c2a9d8e7f60514233241506f7e8', 'hex');

const POLICY = (readerReceives: string) => `
version: 1
connect:
  clientIds: ["dev-*", "app-*", "psk-*", "cert-*", "user-*"]
users:
  user-alice: [device]
bindings:
  - { when: { method: [psk, x509] }, roles: [device] }
roles:
  device:
    # Bound as by default, plus any app-* id: the session-takeover test needs two principals on one id.
    clientIds: ["\${username}", "\${principal}", "app-*"]
    rules:
      - { effect: allow, actions: publish, topics: ["devices/\${clientid}/#", "public/#"] }
      - { effect: allow, actions: read, topics: ["public/#"] }
  reader:
    rules:
      - { effect: allow, actions: subscribe, topics: ["#"] }
      - { effect: allow, actions: receive, topics: [${readerReceives}] }
      - { effect: deny, actions: receive, topics: ["secret/#"] }
  writer:
    rules:
      - { effect: allow, actions: publish, topics: ["#"] }
`;

describe('Aedes guarded by mqtt-warden, over the wire', () => {
  let dir: string;
  let pki: Pki;
  let policy: PolicyWatcher;
  let server: TestBroker;
  let hooks: WardenHooks;
  const psk = new PskStore([['psk-sensor-1', PSK_KEY]]);

  const token = (sub: string, roles: string[], ttlSeconds = 600, secret = SECRET) =>
    signHs256({ sub, roles, aud: 'mqtt', exp: Math.floor(Date.now() / 1000) + ttlSeconds }, secret);
  const url = (transport: 'tcp' | 'ws' | 'tls' | 'mtls' | 'x509' | 'psk') =>
    `${transport === 'tcp' ? 'mqtt' : transport === 'ws' ? 'ws' : 'mqtts'}://127.0.0.1:${server.ports[transport]}`;
  const tlsClient = () => ({ ca: pki.ca, servername: 'localhost' });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-aedes-wire-'));
    pki = createPki();
    writeFileSync(join(dir, 'ca.pem'), pki.ca);
    writeFileSync(join(dir, 'policy.yaml'), POLICY('"public/#"'));
    policy = await watchPolicy(join(dir, 'policy.yaml'), { debounceMs: 20 });
    const guard = createGuard({
      authenticators: [
        createPskAuthenticator({ keys: psk }),
        createX509Authenticator({
          verifier: createCertificateVerifier({ trustAnchors: [pki.ca] }),
          idFrom: 'cn',
          requireClientIdMatch: 'cn',
        }),
        createJwtAuthenticator({ keys: { secret: SECRET }, audience: 'mqtt', clockToleranceSeconds: 0 }),
        createPasswordAuthenticator({
          store: createMemoryStore([{ username: 'user-alice', hash: await hashPassword('correct horse') }]),
        }),
      ],
      authorizer: policy,
    });
    server = await startBroker(
      {},
      {
        tcp: true,
        ws: true,
        tls: {
          tls: { key: pki.server.key, cert: pki.server.cert },
          mtls: {
            key: pki.server.key,
            cert: pki.server.cert,
            ca: pki.ca,
            requestCert: true,
            rejectUnauthorized: true,
          },
          // Client certificates are asked for but judged by the x509 verifier, so its refusals reach CONNACK.
          x509: {
            key: pki.server.key,
            cert: pki.server.cert,
            ca: pki.ca,
            requestCert: true,
            rejectUnauthorized: false,
          },
          psk: {
            ciphers: 'PSK-AES128-GCM-SHA256',
            maxVersion: 'TLSv1.2',
            pskCallback: createPskCallback(psk),
          },
        },
      },
    );
    hooks = attachGuard(server.broker, guard, { pskIdentityOf });
  });

  afterAll(async () => {
    await server?.close();
    policy?.close();
    pki?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('CONNACK for each verifier, MQTT.js', () => {
    it('JWT over TCP: valid → 0, wrong signature → 4, expired → 4, client id outside the policy → 5', async () => {
      const ok = await connect(url('tcp'), {
        clientId: 'dev-1',
        username: 'jwt',
        password: token('dev-1', ['device']),
      });
      expect(ok.returnCode).toBe(0);
      expect(hooks.principalOf(connectedClient(server.broker, 'dev-1'))).toMatchObject({
        id: 'dev-1',
        method: 'jwt',
      });
      await end(ok);
      const forged = await connect(url('tcp'), {
        clientId: 'dev-2',
        username: 'jwt',
        password: token('dev-2', ['device'], 600, `${SECRET}x`),
      });
      expect(forged.returnCode).toBe(4);
      const expired = await connect(url('tcp'), {
        clientId: 'dev-3',
        username: 'jwt',
        password: token('dev-3', ['device'], -60),
      });
      expect(expired.returnCode).toBe(4);
      const outside = await connect(url('tcp'), {
        clientId: 'rogue-1',
        username: 'jwt',
        password: token('rogue-1', ['device']),
      });
      expect(outside.returnCode).toBe(5);
    });

    it('password over TCP: right → 0, wrong → 4, unknown user → 4 (same answer, same work)', async () => {
      const ok = await connect(url('tcp'), {
        clientId: 'user-alice',
        username: 'user-alice',
        password: 'correct horse',
      });
      expect(ok.returnCode).toBe(0);
      await end(ok);
      const wrong = await connect(url('tcp'), {
        clientId: 'user-a2',
        username: 'user-alice',
        password: 'wrong horse',
      });
      expect(wrong.returnCode).toBe(4);
      const unknown = await connect(url('tcp'), {
        clientId: 'user-a3',
        username: 'user-bob',
        password: 'correct horse',
      });
      expect(unknown.returnCode).toBe(4);
    });

    it('X.509 over mutual TLS: a certificate from our CA → 0; one from another CA → 4; a CN that is not the client id → 5', async () => {
      const leaf = pki.client('cert-dev-1');
      const ok = await connect(url('x509'), {
        clientId: 'cert-dev-1',
        key: leaf.key,
        cert: leaf.cert,
        ...tlsClient(),
      });
      expect(ok.returnCode).toBe(0);
      expect(await publish(ok.client, 'devices/cert-dev-1/t', '1')).toBeUndefined();
      await end(ok);
      const rogue = createPki();
      try {
        const forged = rogue.client('cert-dev-1');
        const refused = await connect(url('x509'), {
          clientId: 'cert-dev-1',
          key: forged.key,
          cert: forged.cert,
          ...tlsClient(),
        });
        expect(refused.returnCode).toBe(4);
      } finally {
        rogue.dispose();
      }
      const mismatch = await connect(url('x509'), {
        clientId: 'cert-dev-2',
        key: leaf.key,
        cert: leaf.cert,
        ...tlsClient(),
      });
      expect(mismatch.returnCode).toBe(5);
    });

    it('no credentials at all → 5', async () => {
      expect((await connect(url('tcp'), { clientId: 'dev-anon' })).returnCode).toBe(5);
    });

    it('JWT over WebSocket and over TLS', async () => {
      const ws = await connect(url('ws'), {
        clientId: 'app-ws',
        username: 'jwt',
        password: token('app-ws', ['device']),
      });
      expect(ws.returnCode).toBe(0);
      await end(ws);
      const malformed = await connect(url('ws'), {
        clientId: 'app-ws2',
        username: 'jwt',
        password: 'not-a.valid.jwt',
      });
      expect(malformed.returnCode).toBe(4);
      const tls = await connect(url('tls'), {
        clientId: 'app-tls',
        username: 'jwt',
        password: token('app-tls', ['device']),
        ...tlsClient(),
      });
      expect(tls.returnCode).toBe(0);
      await end(tls);
    });

    it('TLS-PSK: a known identity → 0 with the psk method; an unknown identity fails the handshake, no CONNACK', async () => {
      const pskOptions = (identity: string, key: Buffer) =>
        ({
          ciphers: 'PSK-AES128-GCM-SHA256',
          maxVersion: 'TLSv1.2',
          pskCallback: () => ({ identity, psk: key }),
          checkServerIdentity: () => undefined,
        }) as Parameters<typeof connect>[1];
      const ok = await connect(url('psk'), {
        clientId: 'psk-sensor-1',
        ...pskOptions('psk-sensor-1', PSK_KEY),
      });
      expect(ok.returnCode).toBe(0);
      expect(await publish(ok.client, 'devices/psk-sensor-1/t', '21.5')).toBeUndefined();
      await end(ok);
      const unknown = await connect(url('psk'), {
        clientId: 'psk-x',
        ...pskOptions('psk-intruder', PSK_KEY),
      });
      expect(unknown.returnCode).toBe('closed');
      expect(unknown.packets).toEqual([]);
    });
  });

  describe('mosquitto_pub / mosquitto_sub', () => {
    it('JWT over TLS: a valid token publishes; a forged one is refused with CONNACK 4', async () => {
      const base = [
        '-h',
        '127.0.0.1',
        '-p',
        String(server.ports.tls),
        '--cafile',
        join(dir, 'ca.pem'),
        '--insecure',
        '-q',
        '1',
      ];
      const ok = await run('mosquitto_pub', [
        ...base,
        '-i',
        'dev-m1',
        '-u',
        'x',
        '-P',
        token('dev-m1', ['device']),
        '-t',
        'public/m',
        '-m',
        'hi',
      ]);
      expect(ok).toMatchObject({ code: 0 });
      const forged = await run('mosquitto_pub', [
        ...base,
        '-i',
        'dev-m2',
        '-u',
        'x',
        '-P',
        token('dev-m2', ['device'], 600, 'another-secret-of-at-least-32-bytes'),
        '-t',
        'public/m',
        '-m',
        'hi',
      ]);
      expect(forged.code).not.toBe(0);
      expect(forged.stderr).toMatch(/bad user name or password/i);
    });

    it('password over TCP: mosquitto_pub with the right password publishes, with a wrong one gets CONNACK 4', async () => {
      const base = [
        '-h',
        '127.0.0.1',
        '-p',
        String(server.ports.tcp),
        '-i',
        'user-alice',
        '-u',
        'user-alice',
        '-t',
        'public/p',
        '-m',
        'x',
        '-q',
        '1',
      ];
      expect(await run('mosquitto_pub', [...base, '-P', 'correct horse'])).toMatchObject({ code: 0 });
      const wrong = await run('mosquitto_pub', [...base, '-P', 'wrong horse']);
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toMatch(/bad user name or password/i);
    });

    it('X.509 over mutual TLS: mosquitto_sub with a client certificate subscribes and receives', async () => {
      const leaf = pki.client('cert-dev-m');
      writeFileSync(join(dir, 'leaf.pem'), leaf.cert);
      writeFileSync(join(dir, 'leaf.key'), leaf.key);
      const sub = await mosquittoSub([
        '-h',
        '127.0.0.1',
        '-p',
        String(server.ports.mtls),
        '--cafile',
        join(dir, 'ca.pem'),
        '--insecure',
        '--cert',
        join(dir, 'leaf.pem'),
        '--key',
        join(dir, 'leaf.key'),
        '-i',
        'cert-dev-m',
        '-t',
        'public/#',
        '-C',
        '1',
        '-W',
        '10',
      ]);
      expect(sub.debug.join('\n')).toMatch(/received CONNACK \(0\)/);
      const writer = await connect(url('tcp'), {
        clientId: 'app-w3',
        username: 'jwt',
        password: token('app-w3', ['writer']),
      });
      await publish(writer.client, 'public/cert', 'for certs');
      expect(await sub.exited).toBe(0);
      expect(sub.messages).toEqual(['public/cert for certs']);
      await end(writer);
    });

    it('TLS-PSK: mosquitto_sub reads SUBACK codes (0x80 for a refused filter) and receives what it may', async () => {
      const sub = await mosquittoSub([
        '-h',
        '127.0.0.1',
        '-p',
        String(server.ports.psk),
        '--psk',
        PSK_KEY.toString('hex'),
        '--psk-identity',
        'psk-sensor-1',
        '--ciphers',
        'PSK-AES128-GCM-SHA256',
        '-i',
        'psk-sensor-1',
        '-t',
        'public/#',
        '-t',
        'secret/#',
        '-C',
        '1',
        '-W',
        '10',
      ]);
      expect(sub.debug.join('\n')).toMatch(/Subscribed \(mid: \d+\): 0, 128/);
      const writer = await connect(url('tcp'), {
        clientId: 'app-w',
        username: 'jwt',
        password: token('app-w', ['writer']),
      });
      await publish(writer.client, 'secret/x', 'hidden');
      await publish(writer.client, 'public/x', 'visible');
      expect(await sub.exited).toBe(0);
      expect(sub.messages).toEqual(['public/x visible']);
      await end(writer);
    });

    it('a refused publish closes the mosquitto_pub connection', async () => {
      const result = await run('mosquitto_pub', [
        '-h',
        '127.0.0.1',
        '-p',
        String(server.ports.tcp),
        '-i',
        'dev-m3',
        '-u',
        'x',
        '-P',
        token('dev-m3', ['device']),
        '-t',
        'devices/someone-else/t',
        '-m',
        'x',
        '-q',
        '1',
        '-d',
      ]);
      expect(result.stdout).toMatch(/sending PUBLISH/);
      expect(result.stdout).not.toMatch(/received PUBACK/);
      expect(result.code).not.toBe(0);
    });
  });

  describe('authorization as a client sees it (MQTT.js)', () => {
    it('mutual TLS without a client certificate cannot connect at all', async () => {
      const c = await connect(url('mtls'), { clientId: 'cert-none', ...tlsClient() });
      expect(c.returnCode).toBe('closed');
    });

    it('SUBACK 0x80 for a refused entry while the others are granted (WebSocket)', async () => {
      const c = await connect(url('ws'), {
        clientId: 'dev-s',
        username: 'jwt',
        password: token('dev-s', ['device']),
      });
      expect(
        await subscribeRaw(c, { 'public/#': { qos: 1 }, 'devices/#': { qos: 1 }, '#': { qos: 0 } }),
      ).toEqual([1, 0x80, 0x80]);
      expect(c.client.connected).toBe(true);
      await end(c);
    });

    it('closes the connection after a refused publish (TLS)', async () => {
      const c = await connect(url('tls'), {
        clientId: 'dev-p',
        username: 'jwt',
        password: token('dev-p', ['device']),
        ...tlsClient(),
      });
      expect(await publish(c.client, 'devices/dev-p/ok', 'x')).toBeUndefined();
      expect(await publish(c.client, 'devices/dev-other/t', 'x')).toBeInstanceOf(Error);
      await c.closed;
    });

    // The reader's '#' overlaps its receive deny on secret/#: Aedes checks each delivery, so the
    // subscription is granted and the deliveries are filtered (ARCHITECTURE.md semantics 3).
    it('never delivers a topic the subscriber may not receive through #: live, retained or queued', async () => {
      const writer = await connect(url('tcp'), {
        clientId: 'app-writer',
        username: 'jwt',
        password: token('app-writer', ['writer']),
      });
      await publish(writer.client, 'secret/retained', 'hidden', { retain: true });
      await publish(writer.client, 'public/retained', 'shown', { retain: true });
      const session = { clientId: 'app-reader', clean: false };
      const first = await connect(url('tcp'), {
        ...session,
        username: 'jwt',
        password: token('app-reader', ['reader']),
      });
      const live = collect(first.client);
      expect(await subscribeRaw(first, { '#': { qos: 1 } })).toEqual([1]);
      await publish(writer.client, 'secret/live', 'hidden');
      await publish(writer.client, 'public/live', 'shown');
      await delay(200);
      await end(first);
      await publish(writer.client, 'secret/queued', 'hidden');
      await publish(writer.client, 'public/queued', 'shown');
      const second = await connect(url('tcp'), {
        ...session,
        username: 'jwt',
        password: token('app-reader', ['reader']),
      });
      const queued = collect(second.client);
      await delay(300);
      expect(live.map((m) => m.topic)).toEqual(expect.arrayContaining(['public/retained', 'public/live']));
      expect(queued.map((m) => m.topic)).toEqual(['public/queued']);
      expect([...live, ...queued].filter((m) => m.topic.startsWith('secret/'))).toEqual([]);
      await publish(writer.client, 'secret/retained', '', { retain: true });
      await publish(writer.client, 'public/retained', '', { retain: true });
      await end(second);
      await end(writer);
    });

    // Issue 10 item 9. Client-id binding mostly prevents a takeover; this policy lets any principal use
    // app-* ids, so the resumed session's subscriptions must be re-checked against the new principal.
    it('a persistent session resumed by another principal keeps none of the subscriptions that principal may not make', async () => {
      const writer = await connect(url('tcp'), {
        clientId: 'app-w-takeover',
        username: 'jwt',
        password: token('app-w-takeover', ['writer']),
      });
      const session = { clientId: 'app-shared', clean: false };
      const owner = await connect(url('tcp'), {
        ...session,
        username: 'jwt',
        password: token('app-shared', ['reader']),
      });
      expect(await subscribeRaw(owner, { '#': { qos: 1 } })).toEqual([1]);
      await end(owner);
      // Queued for the owner's '#'; the intruder may receive public/# but not subscribe to '#'.
      await publish(writer.client, 'public/queued', 'for the owner', { qos: 1 });

      const intruder = await connect(url('tcp'), {
        ...session,
        username: 'jwt',
        password: token('intruder', ['device']),
      });
      expect(intruder.returnCode).toBe(0);
      // Every packet since CONNECT, so that nothing the queue drained before a listener was attached is missed.
      const received = () => intruder.packets.flatMap((p) => (p.cmd === 'publish' ? [p.topic] : []));
      await publish(writer.client, 'public/live', 'for the owner', { qos: 1 });
      await delay(300);
      expect(received()).toEqual([]);
      // Aedes' types leave out its persistence; the memory persistence answers what the session holds.
      const { persistence } = server.broker as unknown as {
        persistence: { subscriptionsByClient(client: { id: string }): Promise<{ topic: string }[]> };
      };
      const persisted = await persistence.subscriptionsByClient({ id: 'app-shared' });
      expect(persisted.map((sub) => sub.topic)).toEqual([]);

      // What the intruder may subscribe to itself still works.
      expect(await subscribeRaw(intruder, { 'public/#': { qos: 1 } })).toEqual([1]);
      await publish(writer.client, 'public/own', 'for the intruder', { qos: 1 });
      await delay(200);
      expect(received()).toEqual(['public/own']);
      await end(intruder);
      await end(writer);
    });

    it('disconnects a JWT client at its exp', async () => {
      const c = await connect(url('tcp'), {
        clientId: 'dev-exp',
        username: 'jwt',
        password: token('dev-exp', ['device'], 2),
      });
      expect(c.returnCode).toBe(0);
      const start = Date.now();
      await c.closed;
      expect(Date.now() - start).toBeLessThan(3500);
    });

    it('applies a policy file change to a connected subscriber', async () => {
      const reader = await connect(url('ws'), {
        clientId: 'app-r2',
        username: 'jwt',
        password: token('app-r2', ['reader']),
      });
      const writer = await connect(url('tcp'), {
        clientId: 'app-w2',
        username: 'jwt',
        password: token('app-w2', ['writer']),
      });
      await subscribeRaw(reader, { 'public/policy/#': { qos: 1 }, 'news/#': { qos: 1 } });
      const got = collect(reader.client);
      await publish(writer.client, 'public/policy/a', '1');
      await publish(writer.client, 'news/a', 'not yet');
      await delay(100);
      writeFileSync(join(dir, 'policy.yaml'), POLICY('"news/#"'));
      await policy.reload();
      await publish(writer.client, 'public/policy/a', '2');
      await publish(writer.client, 'news/a', 'now');
      await delay(200);
      expect(got.map((m) => `${m.topic} ${m.payload}`)).toEqual(['public/policy/a 1', 'news/a now']);
      writeFileSync(join(dir, 'policy.yaml'), POLICY('"public/#"'));
      await policy.reload();
      await end(reader);
      await end(writer);
    });
  });
});

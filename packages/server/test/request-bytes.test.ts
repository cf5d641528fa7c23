import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '@mqtt-warden/password';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWardenServer, parseServerConfig, type WardenServer } from '../src/index.js';
import { type Send, sender, TRANSPORTS } from './transports.js';

// Issue 11 item 7 and issue 10 items 5 and 6, end to end through the server's adapters: a password is the
// bytes the broker percent-encoded; a topic whose escapes are not UTF-8 never becomes some other topic;
// `$queue/` with nothing after it is a refusal, not a 500.

const BINARY = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
const ESCAPED = '%FF%FE%00A';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

// Over inject (Fastify alone) and over a real connection (the lean path first): the same answers.
describe.each(TRANSPORTS)(
  'request values are bytes first, through every adapter of the server, over %s',
  (transport) => {
    let server: WardenServer;
    let send: Send;

    beforeAll(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'warden-bytes-'));
      writeFileSync(
        join(dir, 'users.yaml'),
        `users:\n  bin:\n    hash: ${await hashPassword(BINARY)}\n    roles: [device]\n`,
      );
      // One-level topics are allowed; cmd/# is denied: `cmd%2F%FF` read raw would be one level.
      writeFileSync(
        join(dir, 'policy.yaml'),
        `version: 1
roles:
  device:
    rules:
      - { effect: allow, actions: [publish, subscribe], topics: ["+", "$queue/+"] }
      - { effect: deny, actions: [publish, subscribe], topics: "cmd/#" }
`,
      );
      server = await createWardenServer(
        parseServerConfig(
          `listen: { host: 127.0.0.1, port: 0 }
log: { level: silent }
policy: { file: policy.yaml, watch: false }
authenticators: [{ type: password, file: users.yaml }]
`,
          { file: join(dir, 'warden.yaml') },
        ),
      );
      send = await sender(server, transport);
    });
    afterAll(() => server?.close());

    const get = (url: string) => send({ method: 'GET', url });
    const form = (url: string, payload: string) => send({ method: 'POST', url, headers: FORM, payload });

    it('authenticates a user whose hash is of the bytes FF FE 00 41 via EMQX GET and form', async () => {
      const query = `username=bin&clientid=bin&password=${ESCAPED}`;
      expect((await get(`/emqx/authn?${query}`)).json()).toMatchObject({ result: 'allow' });
      expect((await form('/emqx/authn', query)).json()).toMatchObject({ result: 'allow' });
      // The UTF-8 reading of those bytes is not the password.
      const replaced = `username=bin&clientid=bin&password=${encodeURIComponent('\ufffd\ufffd\u0000A')}`;
      expect((await form('/emqx/authn', replaced)).json()).toEqual({ result: 'deny' });
    });

    it('authenticates that user via RabbitMQ GET and form and go-auth form', async () => {
      const rabbit = `username=bin&password=${ESCAPED}&vhost=%2F&client_id=bin`;
      expect((await get(`/rabbitmq/user?${rabbit}`)).body).toBe('allow');
      expect((await form('/rabbitmq/user', rabbit)).body).toBe('allow');
      const goAuth = await form('/mosquitto/user', `clientid=bin&password=${ESCAPED}&username=bin`);
      expect(goAuth.statusCode).toBe(200);
      expect((await form('/mosquitto/user', 'clientid=bin&password=%FF&username=bin')).statusCode).toBe(403);
    });

    it('denies cmd/%FF through EMQX GET and form, go-auth form and RabbitMQ form, where cmd%2F%FF read raw was one allowed level', async () => {
      await form('/emqx/authn', `username=bin&clientid=bin&password=${ESCAPED}`);
      const emqx = 'username=bin&clientid=bin&action=publish&topic=cmd%2F%FF';
      expect((await get(`/emqx/authz?${emqx}`)).json()).toEqual({ result: 'deny' });
      expect((await form('/emqx/authz', emqx)).json()).toEqual({ result: 'deny' });
      // The one-level topic is allowed, so the denials above are not the default.
      const level = 'username=bin&clientid=bin&action=publish&topic=t%C3%A9';
      expect((await form('/emqx/authz', level)).json()).toEqual({ result: 'allow' });

      await form('/mosquitto/user', `clientid=bin&password=${ESCAPED}&username=bin`);
      const acl = (topic: string) => form('/mosquitto/acl', `acc=2&clientid=bin&topic=${topic}&username=bin`);
      expect((await acl('cmd%2F%FF')).statusCode).toBe(403);
      expect((await acl('t%C3%A9')).statusCode).toBe(200);

      await form('/rabbitmq/user', `username=bin&password=${ESCAPED}&vhost=%2F&client_id=bin`);
      const topic = (key: string) =>
        form(
          '/rabbitmq/topic',
          `username=bin&vhost=%2F&resource=topic&name=amq.topic&permission=write&routing_key=${key}&variable_map.client_id=bin`,
        );
      expect((await topic('cmd.%FF')).body).toBe('deny');
      expect((await topic('t%C3%A9')).body).toBe('allow');
    });

    it('refuses $queue/ (no filter) as a subscription through go-auth, EMQX and RabbitMQ instead of failing', async () => {
      await form('/mosquitto/user', `clientid=bin&password=${ESCAPED}&username=bin`);
      const acl = (topic: string) => form('/mosquitto/acl', `acc=4&clientid=bin&topic=${topic}&username=bin`);
      expect((await acl('%24queue%2F')).statusCode).toBe(403);
      expect((await acl('%24queue%2Fjobs')).statusCode).toBe(200);
      expect((await acl('%24share%2Fg%2F%24queue%2Fjobs')).statusCode).toBe(403);
      await form('/emqx/authn', `username=bin&clientid=bin&password=${ESCAPED}`);
      const emqx = await form('/emqx/authz', 'username=bin&clientid=bin&action=subscribe&topic=%24queue%2F');
      expect(emqx.json()).toEqual({ result: 'deny' });
      await form('/rabbitmq/user', `username=bin&password=${ESCAPED}&vhost=%2F&client_id=bin`);
      const read = (key: string) =>
        form(
          '/rabbitmq/topic',
          `username=bin&vhost=%2F&resource=topic&name=amq.topic&permission=read&routing_key=${key}&variable_map.client_id=bin`,
        );
      expect(`${(await read('%24queue.')).statusCode} ${(await read('%24queue.')).body}`).toBe('200 deny');
      expect((await read('%24queue.jobs')).body).toBe('allow');
    });
  },
);

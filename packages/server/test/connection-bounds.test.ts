import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createWardenServer, loadServerConfig, type WardenServer } from '@mqtt-warden/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// What closes a connection that holds the server without finishing its part. limits.requestTimeoutMs
// is node's requestTimeout (a request not received in time; node checks every 30 s) and also the
// socket's inactivity timeout (server.setTimeout, Fastify's connectionTimeout); keepAliveTimeoutMs
// bounds the wait for the next request. The tests give each case a few timeouts to close: a bound that
// only node's 30-second check enforced, or none, fails them.

const QUICKSTART = fileURLToPath(new URL('../../../examples/quickstart/', import.meta.url));
const TIMEOUT_MS = 300;
/** Long enough for a busy machine, far short of node's 30-second request check. */
const DEADLINE_MS = 20 * TIMEOUT_MS;

let server: WardenServer;
let port: number;
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-bounds-'));
  for (const f of ['policy.yaml', 'users.yaml']) copyFileSync(join(QUICKSTART, f), join(dir, f));
  writeFileSync(
    join(dir, 'warden.yaml'),
    `log: { level: silent }\npolicy: { file: policy.yaml }\nauthenticators: [{ type: password, file: users.yaml }]\nlisten: { host: 127.0.0.1, port: 0 }\nlimits: { requestTimeoutMs: ${TIMEOUT_MS}, keepAliveTimeoutMs: ${TIMEOUT_MS} }\n`,
  );
  server = await createWardenServer(await loadServerConfig(join(dir, 'warden.yaml')));
  port = Number(new URL(await server.listen()).port);
});
afterAll(async () => {
  // What a failed case left open would hold close() up.
  server.app.server.closeAllConnections();
  await server.close();
});

/**
 * A connection to the server; `closed` resolves true when the server's end of it closes (a client that
 * does not read would not see that), false after the deadline.
 */
async function open(): Promise<{ socket: Socket; closed: Promise<boolean> }> {
  const accepted = new Promise<Socket>((resolve) => server.app.server.once('connection', resolve));
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  const ours = await accepted;
  const closed = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), DEADLINE_MS);
    ours.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  return { socket, closed };
}

const AUTHZ = '{"username":"demo","clientid":"demo","topic":"t","action":"publish"}';
const post = (body: string, length = body.length) =>
  `POST /emqx/authz HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n${body}`;

describe('a connection that holds the server is closed', () => {
  it('when it sends nothing', async () => {
    const { socket, closed } = await open();
    expect(await closed).toBe(true);
    socket.destroy();
  });

  it('when it sends half a body and stops', async () => {
    const { socket, closed } = await open();
    socket.write(post(AUTHZ.slice(0, 10), AUTHZ.length));
    expect(await closed).toBe(true);
    socket.destroy();
  });

  it('when it stays idle after an answer (keep-alive)', async () => {
    const { socket, closed } = await open();
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk));
    socket.write(post(AUTHZ));
    expect(await closed).toBe(true);
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
  });

  // Nothing else bounds this one: the requests were received (no request timeout) and the answers are
  // not finished (no keep-alive timeout) while the client does not read them; only the socket's
  // inactivity timeout (server.setTimeout) closes it.
  it('when it asks without reading the answers, until they back up', async () => {
    const { socket, closed } = await open();
    socket.pause();
    // 404s that echo a long path: a few MB of answers fill both sockets' buffers.
    const ask = `GET /${'a'.repeat(8000)} HTTP/1.1\r\nhost: x\r\n\r\n`;
    for (let i = 0; i < 1500; i++) socket.write(ask);
    expect(await closed).toBe(true);
    socket.destroy();
  });
});

import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuditTrail, SyslogSink } from '../src/index.js';
import { login, refusal, until } from './records.js';

// A real collector on loopback for each transport: it parses RFC 5424 frames (octet counting over
// TCP and TLS, one datagram per message over UDP) and the JSON each one carries.

const RFC5424 =
  /^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) ([\x21-\x7e]+) mqtt-warden (\d+) ([\x21-\x7e]{1,32}) - \uFEFF(\{.*\})$/s;

interface Message {
  pri: number;
  msgid: string;
  json: Record<string, unknown>;
}

function parse(message: string): Message {
  const match = RFC5424.exec(message);
  if (!match) throw new Error(`not RFC 5424: ${message}`);
  return { pri: Number(match[1]), msgid: match[5]!, json: JSON.parse(match[6]!) };
}

/** Splits an octet-counted stream (RFC 6587 §3.4.1) into messages; leaves a partial frame in `state`. */
function deframe(state: { buffer: Buffer }, chunk: Buffer, out: Message[]) {
  state.buffer = Buffer.concat([state.buffer, chunk]);
  for (;;) {
    const space = state.buffer.indexOf(0x20);
    if (space < 0) return;
    const length = Number(state.buffer.subarray(0, space).toString());
    if (!Number.isInteger(length) || length <= 0) throw new Error('bad frame length');
    if (state.buffer.length < space + 1 + length) return;
    out.push(parse(state.buffer.subarray(space + 1, space + 1 + length).toString('utf8')));
    state.buffer = state.buffer.subarray(space + 1 + length);
  }
}

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function streamCollector(tls: boolean) {
  const out: Message[] = [];
  const sockets = new Set<Socket>();
  const onConnection = (socket: Socket) => {
    sockets.add(socket);
    const state = { buffer: Buffer.alloc(0) };
    socket.on('data', (chunk) => deframe(state, chunk, out));
    socket.on('close', () => sockets.delete(socket));
  };
  let server: Server;
  let ca: Buffer | undefined;
  if (tls) {
    const dir = mkdtempSync(join(tmpdir(), 'audit-syslog-'));
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'],
        ...['-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
        ...['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
      ],
      { stdio: 'pipe' },
    );
    ca = readFileSync(join(dir, 'cert.pem'));
    server = createTlsServer({ key: readFileSync(join(dir, 'key.pem')), cert: ca }, onConnection);
  } else {
    server = createTcpServer(onConnection);
  }
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(
    () =>
      new Promise<void>((r) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => r());
      }),
  );
  return { out, port: (server.address() as { port: number }).port, ca, sockets };
}

describe('syslog sink', () => {
  it('sends RFC 5424 datagrams over UDP', async () => {
    const udp = createSocket('udp4');
    const out: Message[] = [];
    udp.on('message', (message) => out.push(parse(message.toString('utf8'))));
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    closers.push(() => udp.close());
    const trail = createAuditTrail({
      sinks: [new SyslogSink({ host: '127.0.0.1', port: udp.address().port, protocol: 'udp' })],
      alerts: false,
    });
    trail.record(refusal(1));
    trail.record(login(true, 'dev1', '192.0.2.10', Date.now()));
    await until(() => out.length === 2);
    await trail.close();
    // authpriv (10): a denial is notice (5), an allow informational (6).
    expect(out.map((m) => [m.pri, m.msgid])).toEqual([
      [85, 'authorize'],
      [86, 'authenticate'],
    ]);
    expect(out[0]!.json).toMatchObject({ kind: 'authorize', decision: 'deny', topic: 'devices/other/1' });
  });

  it.each([false, true])(
    'frames messages by octet counting over TCP (tls: %s) and reconnects after a drop',
    async (tls) => {
      const collector = await streamCollector(tls);
      const trail = createAuditTrail({
        sinks: [
          new SyslogSink({
            host: '127.0.0.1',
            port: collector.port,
            protocol: tls ? 'tls' : 'tcp',
            ca: collector.ca,
            facility: 'local0',
          }),
        ],
        alerts: false,
        retryMs: 20,
      });
      // Multi-byte characters: the frame length counts octets, not characters.
      for (let n = 0; n < 50; n++) trail.record({ ...refusal(n), topic: `capteurs/é/${n}` } as never);
      await until(() => collector.out.length === 50);
      expect(collector.out.map((m) => m.json.topic)).toEqual(
        Array.from({ length: 50 }, (_, n) => `capteurs/é/${n}`),
      );
      expect(collector.out[0]!.pri).toBe(16 * 8 + 5);
      // The collector drops the connection: the sink reconnects and delivers what follows.
      for (const socket of collector.sockets) socket.destroy();
      await new Promise((r) => setTimeout(r, 100));
      for (let n = 50; n < 60; n++) trail.record(refusal(n));
      await until(() => collector.out.length >= 60);
      expect(collector.out.map((m) => m.json.topic)).toContain('devices/other/59');
      await trail.close();
    },
  );

  it('refuses a TLS collector whose certificate the configured CA did not sign', async () => {
    const collector = await streamCollector(true);
    const errors: string[] = [];
    const trail = createAuditTrail({
      sinks: [new SyslogSink({ host: '127.0.0.1', port: collector.port, protocol: 'tls' })],
      alerts: false,
      retryMs: 20,
      onSinkError: (_sink, error) => errors.push((error as { code?: string }).code ?? 'none'),
    });
    trail.record(refusal(1));
    await until(() => errors.length > 0);
    expect(errors[0]).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
    expect(collector.out).toEqual([]);
    await trail.close(100);
  });
});

import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { jsonReply } from '@mqtt-warden/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type LeanLog, type LeanRoute, leanRouter } from '../src/lean-router.js';

// A core may answer in the same turn (a reply), later (a promise), or fail either way: each is written
// once, and a failure becomes the server's 500 with its log line, never a hung request.

const ALLOW = jsonReply(200, { result: 'allow' });
let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function serve(json: NonNullable<LeanRoute['json']>): Promise<{ url: string; errors: string[] }> {
  const errors: string[] = [];
  const log = {
    isLevelEnabled: () => false,
    error: (_object: object, message: string) => errors.push(message),
  } as unknown as LeanLog;
  server = createServer(
    leanRouter({
      routes: new Map([['/authz', { adapter: 'emqx', json }]]),
      fallback: (_request, response) => response.writeHead(404).end(),
      bodyLimit: 1024,
      secrets: new Map(),
      closing: () => false,
      log,
      requestLines: false,
      latencyOf: () => () => {},
    }),
  );
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/authz`, errors };
}

const post = async (url: string) => {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"topic":"t"}',
  });
  return { status: response.status, body: await response.text() };
};

describe('leanRouter answers', () => {
  it('a reply the core returns at once', async () => {
    const { url, errors } = await serve(() => ALLOW);
    expect(await post(url)).toEqual({ status: 200, body: '{"result":"allow"}' });
    expect(errors).toEqual([]);
  });

  it('a reply the core resolves later', async () => {
    const { url } = await serve(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return ALLOW;
    });
    expect(await post(url)).toEqual({ status: 200, body: '{"result":"allow"}' });
  });

  it.each([
    [
      'throws',
      () => {
        throw new Error('secret detail');
      },
    ],
    ['rejects', () => Promise.reject(new Error('secret detail'))],
  ])('a core that %s with a 500 that hides the detail, logged', async (_kind, core) => {
    const { url, errors } = await serve(core);
    const answer = await post(url);
    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.body)).toEqual({ error: 'ERR_INTERNAL', message: 'internal error' });
    expect(errors).toEqual(['request failed']);
  });
});

// A client that sends the headers and half the body, then drops the connection: the request stream is
// destroyed with an 'aborted' error, which node:http emits only to 'error' listeners (IncomingMessage's
// onError), so the router needs none. Nothing is answered, no core runs, nothing throws, and the
// request's exchange is collected with it.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('leanRouter and an aborted upload', () => {
  it.each(['content-length', 'chunked'])(
    '(%s) answers nothing, runs no core, throws nothing, keeps nothing',
    async (framing) => {
      let calls = 0;
      const errors: string[] = [];
      const uncaught: unknown[] = [];
      const onUncaught = (error: unknown) => uncaught.push(error);
      process.on('uncaughtException', onUncaught);
      const log = {
        isLevelEnabled: () => false,
        error: (_o: object, m: string) => errors.push(m),
      } as unknown as LeanLog;
      const router = leanRouter({
        routes: new Map([
          [
            '/authz',
            {
              adapter: 'emqx',
              json: () => {
                calls++;
                return ALLOW;
              },
            },
          ],
        ]),
        fallback: (_request, response) => response.writeHead(404).end(),
        bodyLimit: 1024,
        secrets: new Map(),
        closing: () => false,
        log,
        requestLines: false,
        latencyOf: () => () => {},
      });
      // Only weak references: whatever keeps an exchange alive after its connection is gone is a leak.
      const exchanges: WeakRef<{ size: number }>[] = [];
      const answered: WeakRef<{ headersSent: boolean }>[] = [];
      server = createServer((request, response) => {
        router(request, response);
        const key = Object.getOwnPropertySymbols(request).find(
          (symbol) => symbol.description === 'lean exchange',
        );
        exchanges.push(
          new WeakRef(
            (request as unknown as Record<symbol, { size: number }>)[key as symbol] as { size: number },
          ),
        );
        answered.push(new WeakRef(response));
      });
      await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as AddressInfo).port;
      const until = async (done: () => boolean | Promise<boolean>) => {
        for (let i = 0; i < 200 && !(await done()); i++) await new Promise((r) => setTimeout(r, 5));
        expect(await done()).toBe(true);
      };
      const open = () =>
        new Promise<number>((resolve) => server?.getConnections((_error, count) => resolve(count)));
      try {
        const half = '{"topic":"devices/u1/t","user';
        for (let n = 0; n < 5; n++) {
          const socket = connect(port, '127.0.0.1');
          socket.on('error', () => {});
          const head =
            framing === 'chunked'
              ? 'transfer-encoding: chunked\r\n\r\n' + `${half.length.toString(16)}\r\n${half}\r\n`
              : `content-length: ${2 * half.length}\r\n\r\n${half}`;
          socket.write(`POST /authz HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n${head}`);
          // The lean path took the request and holds half its body.
          await until(() => exchanges[n]?.deref()?.size === half.length);
          socket.destroy();
          await until(async () => (await open()) === 0);
        }
        expect(calls).toBe(0);
        expect(errors).toEqual([]);
        for (const response of answered) expect(response.deref()?.headersSent ?? false).toBe(false);
        for (let i = 0; i < 10 && exchanges.some((ref) => ref.deref() !== undefined); i++) {
          await new Promise((r) => setImmediate(r));
          gc();
        }
        expect(exchanges.filter((ref) => ref.deref() !== undefined)).toHaveLength(0);
        expect(uncaught).toEqual([]);
      } finally {
        process.off('uncaughtException', onUncaught);
      }
    },
  );
});

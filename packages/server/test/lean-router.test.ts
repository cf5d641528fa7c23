import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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

/**
 * The EMQX connector against a local HTTP server that checks each request as EMQX 5's REST API expects
 * it: method, path (client id percent-encoded), and `Authorization: Basic base64(apiKey:apiSecret)`.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConnectorError, createEmqxConnector } from '../src/index.js';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | undefined;
}

describe('createEmqxConnector', () => {
  let server: Server;
  let url: string;
  const seen: Seen[] = [];
  /** Status to answer by `METHOD path`; 204 otherwise. */
  const answers = new Map<string, number>();

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
      const status = answers.get(`${req.method} ${req.url}`) ?? 204;
      if (status === 404) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"code":"CLIENTID_NOT_FOUND","message":"Client ID not found"}');
        return;
      }
      res.writeHead(status);
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    seen.length = 0;
    answers.clear();
  });

  // base64("warden-key:s3cr:et/é") computed independently of the connector.
  const AUTH = 'Basic d2FyZGVuLWtleTpzM2NyOmV0L8Op';
  const emqx = () => createEmqxConnector({ url, apiKey: 'warden-key', apiSecret: 's3cr:et/é' });

  it('sends the API key and secret as Basic auth, byte for byte', () => {
    expect(Buffer.from('warden-key:s3cr:et/é', 'utf8').toString('base64')).toBe(AUTH.slice(6));
  });

  it('kicks each client id of the device: DELETE /api/v5/clients/{clientid}', async () => {
    await emqx().disconnect({ username: 'sensor-1', clientIds: ['sensor-1', 'sensor 1/b#'] });
    expect(seen).toEqual([
      { method: 'DELETE', url: '/api/v5/clients/sensor-1', authorization: AUTH },
      { method: 'DELETE', url: '/api/v5/clients/sensor%201%2Fb%23', authorization: AUTH },
    ]);
  });

  it('cleans the authorization cache of each client id', async () => {
    await emqx().refresh({ username: 'sensor-1', clientIds: ['sensor-1'] });
    expect(seen).toEqual([
      { method: 'DELETE', url: '/api/v5/clients/sensor-1/authorization/cache', authorization: AUTH },
    ]);
  });

  it("cleans every client's authorization cache: DELETE /api/v5/authorization/cache", async () => {
    await emqx().refreshAll();
    expect(seen).toEqual([{ method: 'DELETE', url: '/api/v5/authorization/cache', authorization: AUTH }]);
  });

  it('keeps a path prefix of the base URL', async () => {
    await createEmqxConnector({
      url: `${url}emqx`,
      apiKey: 'warden-key',
      apiSecret: 's3cr:et/é',
    }).refreshAll();
    expect(seen.map((s) => s.url)).toEqual(['/emqx/api/v5/authorization/cache']);
  });

  it('counts a client that is not connected (404) as kicked', async () => {
    answers.set('DELETE /api/v5/clients/gone', 404);
    await expect(emqx().disconnect({ username: 'u', clientIds: ['gone'] })).resolves.toBeUndefined();
  });

  it('rejects with ERR_CONNECTOR_REQUEST on a refused key (401), naming no secret', async () => {
    answers.set('DELETE /api/v5/clients/sensor-1', 401);
    const error = await emqx()
      .disconnect({ username: 'sensor-1', clientIds: ['sensor-1'] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ code: 'ERR_CONNECTOR_REQUEST', status: 401 });
    expect(String((error as Error).message)).not.toContain('s3cr');
  });

  it('rejects with ERR_CONNECTOR_UNREACHABLE when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const connector = createEmqxConnector({ url: `http://127.0.0.1:${port}/`, apiKey: 'k', apiSecret: 's' });
    await expect(connector.refreshAll()).rejects.toMatchObject({ code: 'ERR_CONNECTOR_UNREACHABLE' });
  });
});

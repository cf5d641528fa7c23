/**
 * Every route, fed malformed input: a typed 4xx (`{ error: { code, message } }`) and nothing written (the
 * store's audit trail, which records every write, is unchanged).
 */
import { describe, expect, it } from 'vitest';
import { bearer, harness } from './helpers.js';

interface Attempt {
  readonly url: string;
  readonly payload?: string;
  readonly headers?: Record<string, string>;
}

const JSON_TYPE = { 'content-type': 'application/json' };
/** Bodies no JSON route accepts. */
const BAD_BODIES = [
  '{not json',
  '[]',
  '"text"',
  '{"bogus":true}',
  '{"id":17,"kind":"nope","text":7,"credential":null}',
  'null',
];

describe('malformed input on every route', () => {
  it('answers a typed 4xx and writes nothing', async () => {
    const h = await harness();
    const headers = bearer(h.tokens.all);
    const setup = async (method: 'POST', url: string, payload: object) => {
      const response = await h.app.inject({ method, url: `/admin/v1${url}`, headers, payload });
      expect(response.statusCode, url).toBeLessThan(300);
      return response.json();
    };
    await setup('POST', '/devices', { id: 'd1' });
    const { credential } = await setup('POST', '/devices/d1/credentials', { kind: 'sas', generate: true });
    await setup('POST', '/policies', { text: 'version: 1\nroles: {}\n', format: 'yaml' });
    await setup('POST', '/policies/1:activate', {});

    const document = (await h.app.inject({ url: '/admin/v1/openapi.json' })).json();
    const before = JSON.stringify(await h.store.listAuditRecords());
    let tried = 0;
    for (const [path, operations] of Object.entries(document.paths as Record<string, object>)) {
      for (const method of Object.keys(operations).map((m) => m.toUpperCase())) {
        const real = path.replace('{id}', 'd1').replace('{cid}', credential.id).replace('{v}', '1');
        const attempts: Attempt[] = [];
        // Path parameters that are not ids or versions.
        if (path.includes('{')) {
          attempts.push({
            url: path.replace('{id}', 'bad%20id').replace('{cid}', 'x%00').replace('{v}', '-1'),
          });
          attempts.push({
            url: path
              .replace('{id}', 'a'.repeat(200))
              .replace('{cid}', 'c'.repeat(200))
              .replace('{v}', 'abc'),
          });
        }
        // Unknown or mistyped query parameters.
        if (method === 'GET') {
          attempts.push({ url: `${real}?limit=abc&bogus=1&after=%00&against=x&enabled=maybe` });
        }
        if (method === 'POST' || method === 'PATCH') {
          for (const payload of BAD_BODIES) attempts.push({ url: real, payload, headers: JSON_TYPE });
          attempts.push({ url: real, payload: 'id,name\n', headers: { 'content-type': 'application/xml' } });
        }
        if (path.endsWith('devices:import')) {
          attempts.push({
            url: real,
            payload: 'name,colour\nx,y\n',
            headers: { 'content-type': 'text/csv' },
          });
          attempts.push({ url: real, payload: '{"id":"a"}\n', headers: JSON_TYPE });
        }
        // Headers a write reads.
        if (method !== 'GET') {
          attempts.push({
            url: real,
            headers: { 'if-match': 'nope', 'content-type': 'application/json' },
            payload: '{}',
          });
          attempts.push({
            url: real,
            headers: { 'idempotency-key': ' ', 'content-type': 'application/json' },
            payload: '{}',
          });
        }
        for (const attempt of attempts) {
          // An If-Match check only matters on routes that read it; a route that ignores it is skipped.
          if (attempt.headers?.['if-match'] && !/devices\/\{id\}(:(en|dis)able)?$/.test(path)) continue;
          if (attempt.headers?.['idempotency-key'] && /simulate|validate|devices:import/.test(path)) continue;
          const response = await h.app.inject({
            method: method as 'GET',
            url: attempt.url,
            headers: { ...headers, ...attempt.headers },
            ...(attempt.payload === undefined ? {} : { payload: attempt.payload }),
          });
          const label = `${method} ${attempt.url} ${attempt.payload ?? ''} ${JSON.stringify(attempt.headers ?? {})}`;
          expect(response.statusCode, label).toBeGreaterThanOrEqual(400);
          expect(response.statusCode, label).toBeLessThan(500);
          expect(`${response.json().error?.code}`, `${label} ${response.body}`).toMatch(/^ERR_[A-Z_]+$/);
          tried++;
        }
      }
    }
    expect(tried).toBeGreaterThan(120);
    expect(JSON.stringify(await h.store.listAuditRecords())).toBe(before);
  });
});

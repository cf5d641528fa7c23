import { Readable } from 'node:stream';
import { hashPassword } from '@mqtt-warden/password';
import { describe, expect, it } from 'vitest';
import { IMPORT_BATCH_ROWS } from '../src/index.js';
import { bearer, harness } from './helpers.js';

const NDJSON = { 'content-type': 'application/x-ndjson' };

describe('POST /devices:import', () => {
  it('writes the good rows and reports each bad one with its line (not all-or-nothing)', async () => {
    const h = await harness();
    await h.store.createDevice({ id: 'existing', username: 'taken' }, { actor: 'test' });
    const hash = await hashPassword('a-long-enough-passphrase');
    const body = [
      JSON.stringify({ id: 'dev-1', roles: ['device'], credentials: [{ kind: 'password', hash }] }),
      '{"id": "dev-2", ', // not JSON
      JSON.stringify({ id: 'bad id' }), // id pattern
      '',
      JSON.stringify({ id: 'dev-3', username: 'taken' }), // the store refuses: another device's username
      JSON.stringify({ id: 'dev-4', credentials: [{ kind: 'password', hash: 'plaintext' }] }), // not a hash
      JSON.stringify({ id: 'dev-5', colour: 'red' }), // unknown field
      JSON.stringify({
        id: 'dev-6',
        credentials: [{ kind: 'psk', identity: 'dev-6', key: Buffer.alloc(32, 1).toString('base64') }],
      }),
    ].join('\n');
    const response = await h.app.inject({
      method: 'POST',
      url: '/admin/v1/devices:import',
      headers: { ...bearer(h.tokens.write), ...NDJSON },
      payload: body,
    });
    expect(response.statusCode).toBe(200);
    const report = response.json();
    expect(report).toMatchObject({ created: 2, updated: 0, failed: 5 });
    expect(report.errors.map((e: { line: number; code: string }) => [e.line, e.code])).toEqual([
      [2, 'ERR_INVALID_INPUT'],
      [3, 'ERR_INVALID_INPUT'],
      [6, 'ERR_PASSWORD_FORMAT'],
      [7, 'ERR_INVALID_INPUT'],
      [5, 'ERR_REGISTRY_EXISTS'], // found when its batch is written, after the rows validation refused
    ]);
    expect(response.body).not.toContain(hash);
    expect((await h.store.getDevice('dev-1'))?.roles).toEqual(['device']);
    expect(await h.store.getDevice('dev-3')).toBeUndefined();
    expect((await h.store.listCredentials('dev-6'))[0]).toMatchObject({ kind: 'psk', identity: 'dev-6' });
    expect((await h.store.listCredentials('dev-1'))[0]).toMatchObject({ kind: 'password', hash });
  });

  it('reads CSV with a header, quoted fields and ";" lists; refuses an unknown column before writing', async () => {
    const h = await harness();
    const csv =
      'id,username,roles,clientIds,enabled\nc-1,"user, one",device;meter,c-1;c-1b,false\nc-2,,,,\nc-3,x\n';
    const response = await h.app.inject({
      method: 'POST',
      url: '/admin/v1/devices:import',
      headers: { ...bearer(h.tokens.write), 'content-type': 'text/csv' },
      payload: csv,
    });
    expect(response.json()).toMatchObject({ created: 2, failed: 1, errors: [{ line: 4 }] });
    expect(await h.store.getDevice('c-1')).toMatchObject({
      username: 'user, one',
      roles: ['device', 'meter'],
      clientIds: ['c-1', 'c-1b'],
      enabled: false,
    });
    const before = (await h.store.listAuditRecords()).length;
    const bad = await h.app.inject({
      method: 'POST',
      url: '/admin/v1/devices:import',
      headers: { ...bearer(h.tokens.write), 'content-type': 'text/csv' },
      payload: 'id,password\nc-9,secret\n',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toMatch(/unknown: password/);
    expect((await h.store.listAuditRecords()).length).toBe(before);
  });

  it('refuses a body over the import limit with 413', async () => {
    const h = await harness({ importBytes: 1000 });
    const rows = Array.from({ length: 100 }, (_, i) => JSON.stringify({ id: `d-${i}` })).join('\n');
    const response = await h.app.inject({
      method: 'POST',
      url: '/admin/v1/devices:import',
      headers: { ...bearer(h.tokens.write), ...NDJSON },
      payload: rows,
    });
    expect(response.statusCode).toBe(413);
    expect(response.json().error.code).toBe('ERR_ADMIN_BODY_TOO_LARGE');
  });

  it('imports 100,000 devices streamed in one request', { timeout: 300_000 }, async () => {
    const h = await harness();
    const count = 100_000;
    let i = 0;
    const source = Readable.from(
      (function* () {
        while (i < count) {
          const lines: string[] = [];
          for (let n = 0; n < 500 && i < count; n++, i++) {
            lines.push(
              JSON.stringify({
                id: `bulk-${String(i).padStart(6, '0')}`,
                roles: ['device'],
                groups: ['fleet'],
              }),
            );
          }
          yield Buffer.from(`${lines.join('\n')}\n`);
        }
      })(),
    );
    const started = performance.now();
    const response = await h.app.inject({
      method: 'POST',
      url: '/admin/v1/devices:import',
      headers: { ...bearer(h.tokens.write), ...NDJSON },
      payload: source,
    });
    const seconds = (performance.now() - started) / 1000;
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({ created: count, updated: 0, failed: 0, errors: [] });
    expect(await h.store.getDevice('bulk-099999')).toMatchObject({ roles: ['device'] });
    const imports = (await h.store.listAuditRecords({ limit: 1000 })).filter(
      (r) => r.action === 'device.import',
    );
    expect(imports).toHaveLength(count / IMPORT_BATCH_ROWS);
    console.log(
      `admin import: ${count} devices in ${seconds.toFixed(1)} s = ${Math.round(count / seconds)} rows/s (MemoryRegistry)`,
    );
  });
});

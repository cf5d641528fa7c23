import { verifyPassword } from '@mqtt-warden/password';
import type { RegistryStore } from '@mqtt-warden/registry';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fastifyPath } from '../src/admin-route.js';
import {
  AuditRecordSchema,
  CreatedCredentialSchema,
  CredentialViewSchema,
  DeviceSchema,
  ErrorSchema,
  PolicyVersionSchema,
} from '../src/schemas.js';
import { bearer, type Harness, harness } from './helpers.js';

const POLICY = `version: 1
roles:
  device:
    clientIds: \${principal}
    rules:
      - name: own-tree
        effect: allow
        actions: [publish, subscribe, receive]
        topics: devices/\${clientid}/#
`;

/**
 * The admin API's behaviour on one store: run by the MemoryRegistry and the PostgreSQL test files, so
 * both stores answer the API alike.
 */
export function adminApiSuite(name: string, makeStore: () => Promise<RegistryStore>): void {
  let h: Harness;
  beforeEach(async () => {
    h = await harness({}, await makeStore());
  });
  afterEach(async () => {
    await h.app.close();
    await h.store.close();
  });

  type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
  async function call(method: Method, url: string, body?: unknown, headers: Record<string, string> = {}) {
    const response = await h.app.inject({
      method,
      url: `/admin/v1${url}`,
      headers: { ...bearer(h.tokens.all), ...headers },
      ...(body === undefined ? {} : { payload: body as object }),
    });
    return {
      status: response.statusCode,
      body: response.body === '' ? undefined : response.json(),
      headers: response.headers,
    };
  }

  describe(name, () => {
    describe('OpenAPI document', () => {
      it('documents exactly the routes the app serves', async () => {
        const response = await h.app.inject({ url: '/admin/v1/openapi.json' });
        expect(response.statusCode).toBe(200);
        const document = response.json();
        expect(document.openapi).toBe('3.1.0');
        const documented: string[] = [];
        for (const [path, operations] of Object.entries(document.paths as Record<string, object>)) {
          for (const method of Object.keys(operations)) {
            documented.push(
              `${method.toUpperCase()} /admin/v1${fastifyPath(path.slice('/admin/v1'.length))}`,
            );
          }
        }
        expect(documented.sort()).toEqual([...h.routes].sort());
        expect(documented).toHaveLength(23);
        // Generated from the zod schemas: the device body names its fields and the id pattern.
        const create = document.paths['/admin/v1/devices'].post;
        const schema = create.requestBody.content['application/json'].schema;
        expect(schema.required).toEqual(['id']);
        expect(schema.properties.id.pattern).toBe('^[A-Za-z0-9._@-]{1,128}$');
        expect(schema.additionalProperties).toBe(false);
      });
    });

    describe('authentication and scopes', () => {
      it('answers 401 without a token, with a malformed, a wrong or a revoked one', async () => {
        await call('POST', '/devices', { id: 'd1' });
        const wrongSecret = h.tokens.all.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
        for (const authorization of [
          undefined,
          'Bearer nope',
          `Bearer ${wrongSecret}`,
          `Bearer ${h.tokens.revoked}`,
          'Basic abc',
        ]) {
          const response = await h.app.inject({
            url: '/admin/v1/devices/d1',
            headers: authorization ? { authorization } : {},
          });
          expect(response.statusCode, authorization).toBe(401);
          expect(response.json().error.code).toBe('ERR_ADMIN_UNAUTHENTICATED');
        }
        // Checked before the body is read: a malformed body from a stranger is still a 401.
        const stranger = await h.app.inject({
          method: 'POST',
          url: '/admin/v1/devices',
          headers: { 'content-type': 'application/json' },
          payload: '{not json',
        });
        expect(stranger.statusCode).toBe(401);
      });

      it('answers 403 when the token lacks the scope, and lets each scope do its own', async () => {
        const as = (token: string, method: Method, url: string, payload?: object) =>
          h.app.inject({
            method,
            url: `/admin/v1${url}`,
            headers: bearer(token),
            ...(payload ? { payload } : {}),
          });
        const forbidden = [
          await as(h.tokens.read, 'POST', '/devices', { id: 'd1' }),
          await as(h.tokens.policy, 'POST', '/devices', { id: 'd1' }),
          await as(h.tokens.write, 'GET', '/devices'),
          await as(h.tokens.write, 'POST', '/policies', { text: POLICY, format: 'yaml' }),
          await as(h.tokens.read, 'POST', '/policies', { text: POLICY, format: 'yaml' }),
        ];
        for (const response of forbidden) {
          expect(response.statusCode).toBe(403);
          expect(response.json().error.code).toBe('ERR_ADMIN_FORBIDDEN');
        }
        expect((await h.store.listDevices()).devices).toEqual([]);
        expect((await as(h.tokens.write, 'POST', '/devices', { id: 'd1' })).statusCode).toBe(201);
        expect((await as(h.tokens.read, 'GET', '/devices/d1')).statusCode).toBe(200);
        expect(
          (await as(h.tokens.policy, 'POST', '/policies', { text: POLICY, format: 'yaml' })).statusCode,
        ).toBe(201);
      });

      it('records the token id as the actor of every write', async () => {
        await h.app.inject({
          method: 'POST',
          url: '/admin/v1/devices',
          headers: bearer(h.tokens.write),
          payload: { id: 'd1' },
        });
        const records = await h.store.listAuditRecords();
        expect(records.at(-1)).toMatchObject({
          actor: `token:${h.ids.write}`,
          action: 'device.create',
          target: 'd1',
        });
        const audit = await call('GET', `/audit?after=${records.at(-2)!.id}`);
        expect(audit.body.records).toHaveLength(1);
        AuditRecordSchema.parse(audit.body.records[0]);
        expect(audit.body.records[0]).toMatchObject({
          actor: `token:${h.ids.write}`,
          action: 'device.create',
        });
      });
    });

    describe('devices', () => {
      it('creates, gets with an ETag, lists with filters and a cursor, updates with If-Match, deletes', async () => {
        const created = await call('POST', '/devices', { id: 'sensor-1', roles: ['device'] });
        expect(created.status).toBe(201);
        // Answers match the documented (zod-generated) schemas.
        DeviceSchema.parse(created.body);
        ErrorSchema.parse((await call('POST', '/devices', {})).body);
        expect(created.body).toMatchObject({
          id: 'sensor-1',
          username: 'sensor-1',
          clientIds: ['sensor-1'],
          version: 1,
        });
        expect((await call('POST', '/devices', { id: 'sensor-1' })).body.error.code).toBe(
          'ERR_REGISTRY_EXISTS',
        );
        for (const id of ['sensor-2', 'sensor-3', 'pump-1'])
          await call('POST', '/devices', { id, groups: ['plant'] });

        const got = await call('GET', '/devices/sensor-1');
        expect(got.headers.etag).toBe('"1"');
        expect((await call('GET', '/devices/nope')).status).toBe(404);

        const first = await call('GET', '/devices?idPrefix=sensor-&limit=2');
        expect(first.body.devices.map((d: { id: string }) => d.id)).toEqual(['sensor-1', 'sensor-2']);
        const second = await call('GET', `/devices?idPrefix=sensor-&limit=2&after=${first.body.next}`);
        expect(second.body.devices.map((d: { id: string }) => d.id)).toEqual(['sensor-3']);
        expect(second.body.next).toBeUndefined();
        expect((await call('GET', '/devices?group=plant')).body.devices).toHaveLength(3);
        expect((await call('GET', '/devices?role=device')).body.devices).toHaveLength(1);

        const patched = await call(
          'PATCH',
          '/devices/sensor-1',
          { roles: ['device', 'meter'] },
          { 'if-match': '"1"' },
        );
        expect(patched.status).toBe(200);
        expect(patched.headers.etag).toBe('"2"');
        const stale = await call('PATCH', '/devices/sensor-1', { roles: [] }, { 'if-match': '"1"' });
        expect(stale.status).toBe(409);
        expect(stale.body.error.code).toBe('ERR_REGISTRY_CONFLICT');
        expect((await h.store.getDevice('sensor-1'))?.roles).toEqual(['device', 'meter']);
        // Dates: an ISO time sets one, a patch without it keeps it, null clears it.
        const expiring = await call('PATCH', '/devices/sensor-1', { expiresAt: '2030-01-02T03:04:05Z' });
        expect(expiring.body.expiresAt).toBe('2030-01-02T03:04:05.000Z');
        expect((await call('PATCH', '/devices/sensor-1', { groups: ['g'] })).body.expiresAt).toBe(
          '2030-01-02T03:04:05.000Z',
        );
        expect(
          (await call('PATCH', '/devices/sensor-1', { expiresAt: null })).body.expiresAt,
        ).toBeUndefined();
        expect((await call('PATCH', '/devices/sensor-1', { expiresAt: 'tomorrow' })).status).toBe(400);

        expect((await call('POST', '/devices/sensor-1:disable')).body.enabled).toBe(false);
        expect((await call('POST', '/devices/sensor-1:enable', {})).body.enabled).toBe(true);
        expect((await call('DELETE', '/devices/sensor-1', undefined, { 'if-match': '"1"' })).status).toBe(
          409,
        );
        expect((await call('DELETE', '/devices/sensor-1')).status).toBe(204);
        expect((await call('DELETE', '/devices/sensor-1')).status).toBe(404);
      });

      it('lets one of several concurrent updates of the same version win; the others get 409', async () => {
        await call('POST', '/devices', { id: 'contended' });
        const answers = await Promise.all(
          ['a', 'b', 'c', 'd', 'e'].map((role) =>
            call('PATCH', '/devices/contended', { roles: [role] }, { 'if-match': '"1"' }),
          ),
        );
        const statuses = answers.map((a) => a.status).sort();
        expect(statuses).toEqual([200, 409, 409, 409, 409]);
        const winner = answers.find((a) => a.status === 200)!.body;
        expect(await h.store.getDevice('contended')).toMatchObject({ version: 2, roles: winner.roles });
      });

      it('replays a retried write with the same Idempotency-Key instead of writing twice', async () => {
        const headers = { 'idempotency-key': 'create-sensor-9' };
        const first = await call('POST', '/devices', { id: 'sensor-9' }, headers);
        const retry = await call('POST', '/devices', { id: 'sensor-9' }, headers);
        expect(first.status).toBe(201);
        expect(retry.status).toBe(201);
        expect(retry.body).toEqual(first.body);
        expect((await h.store.listAuditRecords()).filter((r) => r.action === 'device.create')).toHaveLength(
          1,
        );
        // A retry racing the first attempt is replayed too.
        const racing = await Promise.all(
          [1, 2, 3].map(() => call('POST', '/devices', { id: 'sensor-10' }, { 'idempotency-key': 'race' })),
        );
        expect(racing.map((r) => r.status)).toEqual([201, 201, 201]);
        expect(new Set(racing.map((r) => JSON.stringify(r.body))).size).toBe(1);
        // Without the key the same request is a duplicate.
        expect((await call('POST', '/devices', { id: 'sensor-9' })).status).toBe(409);
      });
    });

    describe('credentials', () => {
      beforeEach(async () => {
        await call('POST', '/devices', { id: 'sensor-1' });
      });

      it('generates a password once, stores only its argon2id hash, and never lists hashes or keys', async () => {
        const added = await call('POST', '/devices/sensor-1/credentials', {
          kind: 'password',
          generate: true,
        });
        expect(added.status).toBe(201);
        CreatedCredentialSchema.parse(added.body);
        const secret: string = added.body.secret;
        expect(secret.length).toBeGreaterThanOrEqual(32);
        const [stored] = await h.store.listCredentials('sensor-1');
        expect(stored?.kind).toBe('password');
        const hash = (stored as { hash: string }).hash;
        expect(hash).toMatch(/^\$argon2id\$/);
        expect(await verifyPassword(secret, hash)).toBe(true);

        const psk = await call('POST', '/devices/sensor-1/credentials', { kind: 'psk', generate: true });
        expect(Buffer.from(psk.body.secret, 'base64')).toHaveLength(32);
        const listed = await h.app.inject({
          url: '/admin/v1/devices/sensor-1/credentials',
          headers: bearer(h.tokens.read),
        });
        expect(listed.json().credentials).toHaveLength(2);
        for (const credential of listed.json().credentials) CredentialViewSchema.strict().parse(credential);
        expect(listed.body).not.toContain(hash);
        expect(listed.body).not.toContain(psk.body.secret);
        expect(listed.body).not.toContain(secret);
        const audit = JSON.stringify(await h.store.listAuditRecords());
        expect(audit).not.toContain(hash);
        expect(audit).not.toContain(psk.body.secret);
      });

      it('refuses a weak given password and a bad request without writing', async () => {
        const before = (await h.store.listAuditRecords()).length;
        const weak = await call('POST', '/devices/sensor-1/credentials', {
          kind: 'password',
          password: 'short',
        });
        expect(weak.status).toBe(400);
        expect(weak.body.error.code).toBe('ERR_INVALID_INPUT');
        const both = await call('POST', '/devices/sensor-1/credentials', {
          kind: 'password',
          password: 'a-long-enough-passphrase',
          generate: true,
        });
        expect(both.status).toBe(400);
        const x509 = await call('POST', '/devices/sensor-1/credentials', { kind: 'x509' });
        expect(x509.status).toBe(400);
        expect((await h.store.listAuditRecords()).length).toBe(before);
      });

      it('does not show a generated secret again when an Idempotency-Key replays the request', async () => {
        const headers = { 'idempotency-key': 'k1' };
        const first = await call(
          'POST',
          '/devices/sensor-1/credentials',
          { kind: 'sas', generate: true },
          headers,
        );
        const retry = await call(
          'POST',
          '/devices/sensor-1/credentials',
          { kind: 'sas', generate: true },
          headers,
        );
        expect(first.body.secret).toBeDefined();
        expect(retry.body).toEqual({ credential: first.body.credential, replayed: true });
        expect(await h.store.listCredentials('sensor-1')).toHaveLength(1);
      });

      it('rotates with an overlap window, revokes one and all', async () => {
        const old = await call('POST', '/devices/sensor-1/credentials', { kind: 'password', generate: true });
        const x509 = await call('POST', '/devices/sensor-1/credentials', {
          kind: 'x509',
          fingerprint: 'ab'.repeat(32),
        });
        expect(x509.body.credential.fingerprint).toBe('AB'.repeat(32));
        const started = Date.now();
        const rotated = await call('POST', '/devices/sensor-1/credentials:rotate', {
          credential: { kind: 'password', generate: true },
          overlapSeconds: 600,
        });
        expect(rotated.status).toBe(200);
        expect(rotated.body.secret).toBeDefined();
        expect(rotated.body.expiring.map((c: { id: string }) => c.id)).toEqual([old.body.credential.id]);
        const until = Date.parse(rotated.body.expiring[0].revokedAt);
        expect(until).toBeGreaterThanOrEqual(started + 600_000 - 1000);
        expect(until).toBeLessThanOrEqual(Date.now() + 600_000);
        // The certificate binding, another kind, is untouched.
        const listed = (await call('GET', '/devices/sensor-1/credentials')).body.credentials;
        expect(listed.find((c: { kind: string }) => c.kind === 'x509').revokedAt).toBeUndefined();

        const revoked = await call(
          'POST',
          `/devices/sensor-1/credentials/${rotated.body.credential.id}:revoke`,
        );
        expect(Date.parse(revoked.body.revokedAt)).toBeLessThanOrEqual(Date.now());
        expect((await call('POST', '/devices/sensor-1/credentials/nope:revoke')).status).toBe(404);
        expect(
          (await call('POST', '/devices/sensor-1/credentials:revoke-all')).body.revoked,
        ).toBeGreaterThanOrEqual(1);
        expect((await call('GET', '/devices/nope/credentials')).status).toBe(404);

        // A PSK rotation without an identity gets a fresh one: identities are unique.
        const psk = await call('POST', '/devices/sensor-1/credentials', { kind: 'psk', generate: true });
        expect(psk.body.credential.identity).toBe('sensor-1');
        const next = await call('POST', '/devices/sensor-1/credentials:rotate', {
          credential: { kind: 'psk', generate: true },
        });
        expect(next.status, JSON.stringify(next.body)).toBe(200);
        expect(next.body.credential.identity).toMatch(/^sensor-1\.[0-9a-f]{6}$/);
        expect(next.body.expiring.map((c: { id: string }) => c.id)).toEqual([psk.body.credential.id]);
      });
    });

    describe('policy versions', () => {
      it('refuses an invalid policy with located issues, then uploads, diffs, activates, rolls back', async () => {
        const invalid = await call('POST', '/policies', {
          text: 'version: 1\nroles:\n  device:\n    rulez: []\n',
          format: 'yaml',
        });
        expect(invalid.status).toBe(422);
        expect(invalid.body.error.code).toBe('ERR_POLICY_INVALID');
        expect(invalid.body.error.issues[0]).toMatchObject({ line: 4 });
        expect(await h.store.listPolicyVersions()).toEqual([]);

        expect((await call('POST', '/policies:validate', { text: POLICY, format: 'yaml' })).body).toEqual({
          valid: true,
        });
        const v1 = await call('POST', '/policies', { text: POLICY, format: 'yaml', comment: 'first' });
        expect(v1.status).toBe(201);
        PolicyVersionSchema.parse(v1.body);
        expect(v1.body).toMatchObject({ version: 1, active: false, createdBy: `token:${h.ids.all}` });
        const v2 = await call('POST', '/policies', {
          text: POLICY.replace('receive]', 'receive]\n        qos: 1'),
          format: 'yaml',
        });
        expect(v2.status, JSON.stringify(v2.body)).toBe(201);
        expect((await call('GET', '/policies')).body.policies).toHaveLength(2);
        expect((await call('GET', '/policies/1')).body.text).toBe(POLICY);
        expect((await call('GET', '/policies/9')).status).toBe(404);

        expect((await call('GET', '/policies/2/diff')).body.error.code).toBe('ERR_ADMIN_NO_POLICY');
        const diff = await call('GET', '/policies/2/diff?against=1');
        expect(diff.body.lines.filter((l: string) => !l.startsWith('  '))).toEqual(['+         qos: 1']);

        expect((await call('POST', '/policies/1:activate', { expectedActive: 0 })).body.active).toBe(true);
        const raced = await call('POST', '/policies/2:activate', { expectedActive: 0 });
        expect(raced.status).toBe(409);
        expect((await call('POST', '/policies/2:activate', { expectedActive: 1 })).body.version).toBe(2);
        expect((await h.store.activePolicyVersion())?.version).toBe(2);
        expect((await call('POST', '/policies:rollback', {})).body.version).toBe(1);
        expect((await h.store.activePolicyVersion())?.version).toBe(1);
        expect((await call('POST', '/policies:rollback', {})).body.version).toBe(2);
      });

      it('simulates a device against the active or a candidate version, with the explanation', async () => {
        await call('POST', '/devices', { id: 'sensor-1', roles: ['device'] });
        expect(
          (await call('POST', '/policies:simulate', { deviceId: 'sensor-1', action: 'publish', topic: 'x' }))
            .status,
        ).toBe(409);
        await call('POST', '/policies', { text: POLICY, format: 'yaml' });
        await call('POST', '/policies', { text: POLICY.replace('devices/', 'things/'), format: 'yaml' });
        await call('POST', '/policies/1:activate', {});
        const allowed = await call('POST', '/policies:simulate', {
          deviceId: 'sensor-1',
          action: 'publish',
          topic: 'devices/sensor-1/temp',
        });
        expect(allowed.status).toBe(200);
        expect(allowed.body).toMatchObject({ version: 1, allowed: true, reason: 'rule' });
        expect(allowed.body.rules[0]).toMatchObject({ effect: 'allow', applies: true });
        expect(allowed.body.text).toMatch(/^ALLOW publish "devices\/sensor-1\/temp"/);
        const other = await call('POST', '/policies:simulate', {
          deviceId: 'sensor-1',
          action: 'publish',
          topic: 'devices/sensor-2/temp',
        });
        expect(other.body.allowed).toBe(false);
        const candidate = await call('POST', '/policies:simulate', {
          deviceId: 'sensor-1',
          action: 'publish',
          topic: 'devices/sensor-1/temp',
          version: 2,
        });
        expect(candidate.body).toMatchObject({ version: 2, allowed: false });
        const principal = await call('POST', '/policies:simulate', {
          principal: { id: 'p1', roles: ['device'] },
          action: 'subscribe',
          topic: 'things/p1/#',
          version: 2,
        });
        expect(principal.body.allowed).toBe(true);
        const read = await h.app.inject({
          method: 'POST',
          url: '/admin/v1/policies:simulate',
          headers: bearer(h.tokens.read),
          payload: { deviceId: 'nope', action: 'publish', topic: 'a' },
        });
        expect(read.statusCode).toBe(404);
      });
    });

    describe('limits', () => {
      it('answers 413 for a body over the limit, 415 for another media type', async () => {
        const big = await call('POST', '/policies', { text: 'x'.repeat(3 * 1024 * 1024), format: 'yaml' });
        expect(big.status).toBe(413);
        expect(big.body.error.code).toBe('ERR_ADMIN_BODY_TOO_LARGE');
        const xml = await call('POST', '/devices', '<device/>', { 'content-type': 'application/xml' });
        expect(xml.status).toBe(415);
        const csv = await call('POST', '/devices', 'id\nd1\n', { 'content-type': 'text/csv' });
        expect(csv.status).toBe(415);
      });
    });
  });
}

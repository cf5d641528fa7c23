/**
 * The behaviour every `RegistryStore` backend must show, as one vitest suite (like aedes-persistence's
 * abstract tests). A backend's test file calls `registryContract('name', factory)`; the factory returns a
 * new, empty store reading the given clock. See packages/registry/README.md.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Credential, RegistryChange, RegistryStore, WriteContext } from '../src/index.js';

/** What the suite hands a factory: the clock the store must read for every timestamp and expiry. */
export interface ContractClock {
  readonly now: () => Date;
}

export type RegistryFactory = (clock: ContractClock) => Promise<RegistryStore>;

const ctx: WriteContext = { actor: 'test:contract' };
const FINGERPRINT = 'AB'.repeat(32);
const key = (fill: number, length = 32) => new Uint8Array(length).fill(fill);

/** The code of a rejected promise (RegistryError, UnavailableError, InvalidInputError…). */
async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code ?? 'no code';
  }
  return 'fulfilled';
}

export function registryContract(name: string, factory: RegistryFactory): void {
  describe(`RegistryStore contract: ${name}`, () => {
    let store: RegistryStore;
    let time: number;
    const advance = (ms: number) => {
      time += ms;
    };

    beforeEach(async () => {
      time = Date.parse('2026-01-01T00:00:00Z');
      store = await factory({ now: () => new Date(time) });
    });
    afterEach(async () => {
      await store.close();
    });

    describe('devices', () => {
      it('creates a device with the documented defaults and reads it back', async () => {
        const device = await store.createDevice({ id: 'sensor-1' }, ctx);
        expect(device).toEqual({
          id: 'sensor-1',
          username: 'sensor-1',
          clientIds: ['sensor-1'],
          roles: [],
          groups: [],
          attributes: {},
          enabled: true,
          createdAt: new Date(time),
          updatedAt: new Date(time),
          version: 1,
        });
        expect(await store.getDevice('sensor-1')).toEqual(device);
        expect(await store.getDevice('nope')).toBeUndefined();
      });

      it('keeps every field given at creation', async () => {
        const input = {
          id: 'd1',
          username: 'user-d1',
          clientIds: ['c1', 'c2'],
          roles: ['sensor'],
          groups: ['site-a'],
          attributes: { site: 'a', zones: ['1', '2'] },
          enabled: false,
          notBefore: new Date('2025-06-01T00:00:00Z'),
          expiresAt: new Date('2027-06-01T00:00:00Z'),
        };
        const device = await store.createDevice(input, ctx);
        expect(device).toMatchObject(input);
        expect(await store.getDevice('d1')).toEqual(device);
      });

      it('refuses a second device with the same id or username', async () => {
        await store.createDevice({ id: 'a', username: 'shared' }, ctx);
        expect(await codeOf(store.createDevice({ id: 'a', username: 'other' }, ctx))).toBe(
          'ERR_REGISTRY_EXISTS',
        );
        expect(await codeOf(store.createDevice({ id: 'b', username: 'shared' }, ctx))).toBe(
          'ERR_REGISTRY_EXISTS',
        );
        // The default username is the id, which is taken too.
        expect(await codeOf(store.createDevice({ id: 'shared' }, ctx))).toBe('ERR_REGISTRY_EXISTS');
        expect((await store.listDevices()).devices.map((d) => d.id)).toEqual(['a']);
      });

      it('refuses malformed input with ERR_INVALID_INPUT', async () => {
        expect(await codeOf(store.createDevice({ id: '' }, ctx))).toBe('ERR_INVALID_INPUT');
        expect(await codeOf(store.createDevice({ id: 'nul\0' }, ctx))).toBe('ERR_INVALID_INPUT');
        expect(await codeOf(store.createDevice({ id: 'x'.repeat(1025) }, ctx))).toBe('ERR_INVALID_INPUT');
        expect(await codeOf(store.createDevice({ id: 'r', roles: ['nul\0'] }, ctx))).toBe(
          'ERR_INVALID_INPUT',
        );
        expect(await codeOf(store.createDevice({ id: 'x', expiresAt: new Date(Number.NaN) }, ctx))).toBe(
          'ERR_INVALID_INPUT',
        );
        const attributes = { a: { nested: true } } as unknown as Record<string, string>;
        expect(await codeOf(store.createDevice({ id: 'a', attributes }, ctx))).toBe('ERR_INVALID_INPUT');
        expect(await codeOf(store.createDevice({ id: 'a', attributes: { k: 'nul\0' } }, ctx))).toBe(
          'ERR_INVALID_INPUT',
        );
        expect((await store.listDevices()).devices).toEqual([]);
      });

      it('updates a device one version at a time; null clears a date', async () => {
        await store.createDevice({ id: 'd', expiresAt: new Date('2030-01-01T00:00:00Z') }, ctx);
        advance(1000);
        const updated = await store.updateDevice(
          'd',
          { roles: ['r'], enabled: false, expiresAt: null },
          ctx,
          1,
        );
        expect(updated).toMatchObject({
          roles: ['r'],
          enabled: false,
          version: 2,
          updatedAt: new Date(time),
        });
        expect(updated.expiresAt).toBeUndefined();
        expect(updated.createdAt).toEqual(new Date(time - 1000));
        expect(await store.getDevice('d')).toEqual(updated);
        const renamed = await store.updateDevice('d', { username: 'new-name' }, ctx);
        expect(renamed).toMatchObject({ username: 'new-name', version: 3, roles: ['r'] });
      });

      it('refuses an update naming another version, an unknown device or a taken username', async () => {
        await store.createDevice({ id: 'd' }, ctx);
        await store.createDevice({ id: 'e' }, ctx);
        expect(await codeOf(store.updateDevice('d', { enabled: false }, ctx, 7))).toBe(
          'ERR_REGISTRY_CONFLICT',
        );
        expect(await codeOf(store.updateDevice('nope', { enabled: false }, ctx))).toBe(
          'ERR_REGISTRY_NOT_FOUND',
        );
        expect(await codeOf(store.updateDevice('d', { username: 'e' }, ctx))).toBe('ERR_REGISTRY_EXISTS');
        expect(await store.getDevice('d')).toMatchObject({ version: 1, enabled: true, username: 'd' });
      });

      it('lets exactly one of two concurrent updates with the same expected version win', async () => {
        await store.createDevice({ id: 'd' }, ctx);
        const results = await Promise.allSettled([
          store.updateDevice('d', { roles: ['first'] }, ctx, 1),
          store.updateDevice('d', { roles: ['second'] }, ctx, 1),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r) => r.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect((lost[0] as PromiseRejectedResult).reason.code).toBe('ERR_REGISTRY_CONFLICT');
        const device = await store.getDevice('d');
        expect(device?.version).toBe(2);
        expect(device?.roles).toEqual(
          (won[0] as PromiseFulfilledResult<{ readonly roles: readonly string[] }>).value.roles,
        );
      });

      it('deletes a device with its credentials and sessions', async () => {
        await store.createDevice({ id: 'd' }, ctx);
        await store.addCredential('d', { kind: 'psk', identity: 'psk-d', key: key(1) }, ctx);
        await store.putSession(session('d', 'd', 'd'));
        expect(await codeOf(store.deleteDevice('d', ctx, 5))).toBe('ERR_REGISTRY_CONFLICT');
        expect(await store.deleteDevice('d', ctx, 1)).toBe(true);
        expect(await store.getDevice('d')).toBeUndefined();
        expect(await store.listCredentials('d')).toEqual([]);
        expect(await store.getSession('d', 'd')).toBeUndefined();
        expect(await store.findCredentials({ kind: 'psk', identity: 'psk-d' })).toBeUndefined();
        expect(await store.deleteDevice('d', ctx)).toBe(false);
        // Its PSK identity and username are free again.
        await store.createDevice({ id: 'd2', username: 'd' }, ctx);
        await store.addCredential('d2', { kind: 'psk', identity: 'psk-d', key: key(2) }, ctx);
      });

      it('pages through devices in id order with a cursor', async () => {
        const ids = Array.from({ length: 25 }, (_, i) => `dev-${String(i).padStart(2, '0')}`);
        for (const id of [...ids].reverse()) await store.createDevice({ id }, ctx);
        const seen: string[] = [];
        const sizes: number[] = [];
        let after: string | undefined;
        do {
          const page = await store.listDevices({ limit: 10, ...(after !== undefined && { after }) });
          sizes.push(page.devices.length);
          seen.push(...page.devices.map((d) => d.id));
          after = page.next;
        } while (after !== undefined);
        expect(sizes).toEqual([10, 10, 5]);
        expect(seen).toEqual(ids);
        const exact = await store.listDevices({ limit: 25 });
        expect(exact.devices).toHaveLength(25);
        expect(exact.next).toBeUndefined();
        expect(await codeOf(store.listDevices({ limit: 0 }))).toBe('ERR_INVALID_INPUT');
      });

      it('defaults a page to 100 devices and caps it at 1,000', async () => {
        await store.importDevices(
          Array.from({ length: 1005 }, (_, i) => ({ device: { id: `bulk-${String(i).padStart(4, '0')}` } })),
          ctx,
        );
        expect((await store.listDevices()).devices).toHaveLength(100);
        const capped = await store.listDevices({ limit: 5000 });
        expect(capped.devices).toHaveLength(1000);
        expect(capped.next).toBe('bulk-0999');
        expect((await store.listDevices({ after: capped.next!, limit: 5000 })).devices).toHaveLength(5);
      });

      it('filters by enabled, role, group and id prefix', async () => {
        await store.createDevice({ id: 'a-1', roles: ['sensor'], groups: ['north'] }, ctx);
        await store.createDevice({ id: 'a-2', roles: ['gateway'], groups: ['north'], enabled: false }, ctx);
        await store.createDevice({ id: 'b-1', roles: ['sensor', 'gateway'], groups: ['south'] }, ctx);
        const ids = async (query: Parameters<RegistryStore['listDevices']>[0]) =>
          (await store.listDevices(query)).devices.map((d) => d.id);
        expect(await ids({ enabled: false })).toEqual(['a-2']);
        expect(await ids({ enabled: true })).toEqual(['a-1', 'b-1']);
        expect(await ids({ role: 'gateway' })).toEqual(['a-2', 'b-1']);
        expect(await ids({ group: 'north' })).toEqual(['a-1', 'a-2']);
        expect(await ids({ idPrefix: 'a-' })).toEqual(['a-1', 'a-2']);
        expect(await ids({ idPrefix: 'a-', role: 'sensor', enabled: true })).toEqual(['a-1']);
        // Prefixes are literal text, not patterns.
        expect(await ids({ idPrefix: '%' })).toEqual([]);
        expect(await ids({ idPrefix: 'a_' })).toEqual([]);
      });
    });

    describe('importDevices', () => {
      it('creates and replaces devices and adds their credentials', async () => {
        await store.createDevice({ id: 'old', roles: ['x'] }, ctx);
        advance(1000);
        const result = await store.importDevices(
          [
            { device: { id: 'old', roles: ['y'] } },
            {
              device: {
                id: 'odd',
                roles: ['a,b', 'q"uote', 'back\\slash', '{x}', 'NULL', ''],
                groups: [],
                clientIds: ['c 1', "c'2"],
                attributes: { 'k"': ['v,1', '}'] },
                expiresAt: new Date('2030-01-01T00:00:00Z'),
              },
            },
            {
              device: { id: 'new', username: 'new-user' },
              credentials: [
                { kind: 'password', hash: '$argon2id$fake' },
                { kind: 'psk', identity: 'new-psk', key: key(9) },
              ],
            },
          ],
          ctx,
        );
        expect(result).toEqual({ created: 2, updated: 1 });
        // Values that mean something in array literals and JSON come back as they went in.
        expect(await store.getDevice('odd')).toMatchObject({
          roles: ['a,b', 'q"uote', 'back\\slash', '{x}', 'NULL', ''],
          groups: [],
          clientIds: ['c 1', "c'2"],
          attributes: { 'k"': ['v,1', '}'] },
          expiresAt: new Date('2030-01-01T00:00:00Z'),
        });
        const old = await store.getDevice('old');
        expect(old).toMatchObject({ roles: ['y'], version: 2, createdAt: new Date(time - 1000) });
        expect(old?.updatedAt).toEqual(new Date(time));
        const found = await store.findCredentials({ kind: 'psk', identity: 'new-psk' });
        expect(found?.device.username).toBe('new-user');
        expect(Buffer.from((found!.credentials[0] as { key: Uint8Array }).key)).toEqual(Buffer.from(key(9)));
        expect((await store.listCredentials('new')).map((c) => c.kind).sort()).toEqual(['password', 'psk']);
      });

      it('is all or nothing', async () => {
        await store.createDevice({ id: 'owner', username: 'taken' }, ctx);
        const epoch = await store.currentEpoch();
        expect(
          await codeOf(
            store.importDevices(
              [{ device: { id: 'fine' } }, { device: { id: 'clash', username: 'taken' } }],
              ctx,
            ),
          ),
        ).toBe('ERR_REGISTRY_EXISTS');
        expect(
          await codeOf(store.importDevices([{ device: { id: 'twice' } }, { device: { id: 'twice' } }], ctx)),
        ).toMatch(/^ERR_(REGISTRY_EXISTS|INVALID_INPUT)$/);
        await store.createDevice({ id: 'psk-owner' }, ctx);
        await store.addCredential('psk-owner', { kind: 'psk', identity: 'dup', key: key(1) }, ctx);
        const before = await store.currentEpoch();
        expect(
          await codeOf(
            store.importDevices(
              [
                { device: { id: 'fine' } },
                { device: { id: 'p' }, credentials: [{ kind: 'psk', identity: 'dup', key: key(2) }] },
              ],
              ctx,
            ),
          ),
        ).toBe('ERR_REGISTRY_EXISTS');
        expect(await store.getDevice('fine')).toBeUndefined();
        expect(await store.getDevice('p')).toBeUndefined();
        expect(await store.currentEpoch()).toBe(before);
        expect(before).toBeGreaterThan(epoch);
      });
    });

    describe('credentials', () => {
      beforeEach(async () => {
        await store.createDevice({ id: 'dev', username: 'dev-user' }, ctx);
      });

      it('adds every kind and lists them', async () => {
        const password = await store.addCredential('dev', { kind: 'password', hash: '$argon2id$h' }, ctx);
        const psk = await store.addCredential(
          'dev',
          { id: 'psk-1', kind: 'psk', identity: 'id-1', key: key(1) },
          ctx,
        );
        const sas = await store.addCredential('dev', { kind: 'sas', key: key(2, 64) }, ctx);
        const cert = await store.addCredential(
          'dev',
          { kind: 'x509', fingerprint: FINGERPRINT, expiresAt: new Date('2027-01-01T00:00:00Z') },
          ctx,
        );
        const bound = await store.addCredential('dev', { kind: 'x509', issuer: 'CN=CA', serial: '01' }, ctx);
        expect(password).toMatchObject({
          kind: 'password',
          hash: '$argon2id$h',
          deviceId: 'dev',
          createdAt: new Date(time),
        });
        expect(psk.id).toBe('psk-1');
        expect(Buffer.from((psk as { key: Uint8Array }).key)).toEqual(Buffer.from(key(1)));
        expect(cert).toMatchObject({ fingerprint: FINGERPRINT, expiresAt: new Date('2027-01-01T00:00:00Z') });
        expect(bound).toMatchObject({ issuer: 'CN=CA', serial: '01' });
        const listed = await store.listCredentials('dev');
        expect(byId(listed)).toEqual(byId([password, psk, sas, cert, bound]));
        expect(new Set(listed.map((c) => c.id)).size).toBe(5);
      });

      it('refuses duplicate ids, PSK identities and certificate bindings', async () => {
        await store.createDevice({ id: 'other' }, ctx);
        await store.addCredential('dev', { id: 'c1', kind: 'password', hash: 'h' }, ctx);
        await store.addCredential('dev', { kind: 'psk', identity: 'id-1', key: key(1) }, ctx);
        await store.addCredential('dev', { kind: 'x509', fingerprint: FINGERPRINT }, ctx);
        await store.addCredential('dev', { kind: 'x509', issuer: 'CN=CA', serial: '01' }, ctx);
        const attempts = [
          () => store.addCredential('other', { id: 'c1', kind: 'password', hash: 'h' }, ctx),
          () => store.addCredential('other', { kind: 'psk', identity: 'id-1', key: key(2) }, ctx),
          // The same fingerprint written another way is the same binding.
          () => store.addCredential('other', { kind: 'x509', fingerprint: `${'ab:'.repeat(31)}ab` }, ctx),
          () => store.addCredential('other', { kind: 'x509', issuer: 'CN=CA', serial: '01' }, ctx),
        ];
        for (const attempt of attempts) expect(await codeOf(attempt())).toBe('ERR_REGISTRY_EXISTS');
        expect(await store.listCredentials('other')).toEqual([]);
        // Another serial of the same issuer is another certificate.
        await store.addCredential('other', { kind: 'x509', issuer: 'CN=CA', serial: '02' }, ctx);
      });

      it('refuses credentials of unknown devices and malformed ones', async () => {
        expect(await codeOf(store.addCredential('nope', { kind: 'password', hash: 'h' }, ctx))).toBe(
          'ERR_REGISTRY_NOT_FOUND',
        );
        expect(await codeOf(store.addCredential('dev', { kind: 'x509' }, ctx))).toBe('ERR_INVALID_INPUT');
        expect(await codeOf(store.addCredential('dev', { kind: 'x509', fingerprint: 'zz' }, ctx))).toBe(
          'ERR_INVALID_INPUT',
        );
        expect(
          await codeOf(
            store.addCredential('dev', { kind: 'psk', identity: 'i', key: new Uint8Array() }, ctx),
          ),
        ).toBe('ERR_INVALID_INPUT');
      });

      it('finds credentials by every lookup, without revoked ones', async () => {
        const p1 = await store.addCredential('dev', { kind: 'password', hash: 'h1' }, ctx);
        const p2 = await store.addCredential('dev', { kind: 'password', hash: 'h2' }, ctx);
        const psk = await store.addCredential('dev', { kind: 'psk', identity: 'id-1', key: key(1) }, ctx);
        const sas = await store.addCredential('dev', { kind: 'sas', key: key(3) }, ctx);
        const fp = await store.addCredential('dev', { kind: 'x509', fingerprint: FINGERPRINT }, ctx);
        const is = await store.addCredential('dev', { kind: 'x509', issuer: 'CN=CA', serial: '0A' }, ctx);
        await store.revokeCredential('dev', p1.id, ctx);

        const password = await store.findCredentials({ kind: 'password', username: 'dev-user' });
        expect(password?.device.id).toBe('dev');
        expect(password?.credentials.map((c) => c.id)).toEqual([p2.id]);
        expect((await store.findCredentials({ kind: 'psk', identity: 'id-1' }))?.credentials).toEqual([psk]);
        expect((await store.findCredentials({ kind: 'sas', deviceId: 'dev' }))?.credentials).toEqual([sas]);
        expect(
          (await store.findCredentials({ kind: 'x509', fingerprint: FINGERPRINT.toLowerCase() }))
            ?.credentials,
        ).toEqual([fp]);
        expect(
          (await store.findCredentials({ kind: 'x509', issuer: 'CN=CA', serial: '0A' }))?.credentials,
        ).toEqual([is]);

        expect(await store.findCredentials({ kind: 'password', username: 'dev' })).toBeUndefined();
        expect(await store.findCredentials({ kind: 'psk', identity: 'other' })).toBeUndefined();
        expect(await store.findCredentials({ kind: 'sas', deviceId: 'nope' })).toBeUndefined();
        expect(await store.findCredentials({ kind: 'x509', issuer: 'CN=CA', serial: '0B' })).toBeUndefined();
        await store.revokeCredential('dev', psk.id, ctx);
        expect(await store.findCredentials({ kind: 'psk', identity: 'id-1' })).toBeUndefined();
      });

      it('returns disabled devices so the authenticator can say why it refuses', async () => {
        await store.addCredential('dev', { kind: 'psk', identity: 'id-1', key: key(1) }, ctx);
        await store.updateDevice('dev', { enabled: false }, ctx);
        expect((await store.findCredentials({ kind: 'psk', identity: 'id-1' }))?.device.enabled).toBe(false);
      });

      it('keeps a credential usable until a future revocation time', async () => {
        const old = await store.addCredential('dev', { kind: 'psk', identity: 'old', key: key(1) }, ctx);
        const revoked = await store.revokeCredential('dev', old.id, ctx, new Date(time + 60_000));
        expect(revoked.revokedAt).toEqual(new Date(time + 60_000));
        expect((await store.findCredentials({ kind: 'psk', identity: 'old' }))?.credentials).toHaveLength(1);
        advance(59_999);
        expect((await store.findCredentials({ kind: 'psk', identity: 'old' }))?.credentials).toHaveLength(1);
        advance(1);
        expect(await store.findCredentials({ kind: 'psk', identity: 'old' })).toBeUndefined();
        // Revoked credentials stay listed, with their revocation time.
        expect((await store.listCredentials('dev'))[0]?.revokedAt).toEqual(new Date(time));
      });

      it('does not move an earlier revocation later', async () => {
        const c = await store.addCredential('dev', { kind: 'password', hash: 'h' }, ctx);
        await store.revokeCredential('dev', c.id, ctx);
        const again = await store.revokeCredential('dev', c.id, ctx, new Date(time + 60_000));
        expect(again.revokedAt).toEqual(new Date(time));
      });

      it('refuses to revoke a credential of another device', async () => {
        await store.createDevice({ id: 'other' }, ctx);
        const c = await store.addCredential('other', { kind: 'password', hash: 'h' }, ctx);
        expect(await codeOf(store.revokeCredential('dev', c.id, ctx))).toBe('ERR_REGISTRY_NOT_FOUND');
        expect(await codeOf(store.revokeCredential('dev', 'nope', ctx))).toBe('ERR_REGISTRY_NOT_FOUND');
        expect((await store.listCredentials('other'))[0]?.revokedAt).toBeUndefined();
      });

      it('revokes every credential of a device at once', async () => {
        await store.addCredential('dev', { kind: 'password', hash: 'h' }, ctx);
        const later = await store.addCredential('dev', { kind: 'sas', key: key(1) }, ctx);
        const done = await store.addCredential('dev', { kind: 'psk', identity: 'i', key: key(1) }, ctx);
        await store.revokeCredential('dev', later.id, ctx, new Date(time + 60_000));
        await store.revokeCredential('dev', done.id, ctx);
        advance(1);
        expect(await store.revokeAllCredentials('dev', ctx)).toBe(2);
        const listed = await store.listCredentials('dev');
        expect(listed.every((c) => c.revokedAt !== undefined && c.revokedAt <= new Date(time))).toBe(true);
        expect(
          (await store.findCredentials({ kind: 'password', username: 'dev-user' }))?.credentials,
        ).toEqual([]);
        expect(await codeOf(store.revokeAllCredentials('nope', ctx))).toBe('ERR_REGISTRY_NOT_FOUND');
      });

      it('records the last use', async () => {
        const c = await store.addCredential('dev', { kind: 'password', hash: 'h' }, ctx);
        await store.touchCredential(c.id, new Date(time + 5000));
        expect((await store.listCredentials('dev'))[0]?.lastUsedAt).toEqual(new Date(time + 5000));
        await store.touchCredential('unknown', new Date(time));
      });
    });

    describe('signing keys', () => {
      const signingKey = (kid: string, alg = 'ES256') => ({
        kid,
        alg,
        privateJwk: { kty: 'EC', crv: 'P-256', d: `secret-${kid}`, x: 'x', y: 'y' },
        publicJwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' },
        createdAt: new Date(time),
        retiresAt: new Date(time + 86_400_000),
      });

      it('adds keys once per kid (the first of racing replicas wins)', async () => {
        await store.addSigningKey(signingKey('k1'), ctx);
        await Promise.all([
          store.addSigningKey(signingKey('k2'), ctx),
          store.addSigningKey(signingKey('k2', 'EdDSA'), ctx),
        ]);
        await store.addSigningKey(signingKey('k1', 'RS256'), ctx);
        const keys = [...(await store.listSigningKeys())].sort((a, b) => a.kid.localeCompare(b.kid));
        expect(keys.map((k) => k.kid)).toEqual(['k1', 'k2']);
        expect(keys[0]).toEqual(signingKey('k1'));
        const audit = await store.listAuditRecords();
        expect(audit.filter((r) => r.action === 'signing-key.create')).toHaveLength(2);
      });
    });

    describe('policy versions', () => {
      const doc = (n: number) => ({ text: `version: 1\n# ${n}\n`, format: 'yaml' as const });

      it('numbers versions, keeps them immutable and inactive until activated', async () => {
        const v1 = await store.addPolicyVersion({ ...doc(1), comment: 'first' }, ctx);
        const v2 = await store.addPolicyVersion(doc(2), ctx);
        expect(v1).toEqual({
          version: 1,
          ...doc(1),
          comment: 'first',
          createdAt: new Date(time),
          createdBy: ctx.actor,
          active: false,
        });
        expect(v2.version).toBe(2);
        expect(await store.activePolicyVersion()).toBeUndefined();
        expect(await store.getPolicyVersion(1)).toEqual(v1);
        expect(await store.getPolicyVersion(3)).toBeUndefined();
        expect((await store.listPolicyVersions()).map((p) => p.version)).toEqual([1, 2]);
      });

      it('keeps exactly one version active', async () => {
        await store.addPolicyVersion(doc(1), ctx);
        await store.addPolicyVersion(doc(2), ctx);
        expect((await store.activatePolicyVersion(1, ctx, 0)).active).toBe(true);
        expect((await store.activePolicyVersion())?.version).toBe(1);
        await store.activatePolicyVersion(2, ctx, 1);
        expect((await store.activePolicyVersion())?.version).toBe(2);
        expect((await store.listPolicyVersions()).map((p) => p.active)).toEqual([false, true]);
        expect(await codeOf(store.activatePolicyVersion(1, ctx, 1))).toBe('ERR_REGISTRY_CONFLICT');
        expect(await codeOf(store.activatePolicyVersion(9, ctx))).toBe('ERR_REGISTRY_NOT_FOUND');
        expect((await store.activePolicyVersion())?.version).toBe(2);
      });

      it('lets exactly one of two concurrent activations guarded by the same active version win', async () => {
        await store.addPolicyVersion(doc(1), ctx);
        await store.addPolicyVersion(doc(2), ctx);
        const results = await Promise.allSettled([
          store.activatePolicyVersion(1, ctx, 0),
          store.activatePolicyVersion(2, ctx, 0),
        ]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        expect((await store.listPolicyVersions()).filter((p) => p.active)).toHaveLength(1);
      });
    });

    describe('sessions', () => {
      it('stores, replaces, expires and deletes sessions', async () => {
        await store.putSession(session('u', 'c', 'dev'));
        expect(await store.getSession('u', 'c')).toEqual(session('u', 'c', 'dev'));
        expect(await store.getSession('u', 'other')).toBeUndefined();
        const replaced = { ...session('u', 'c'), authenticator: 'jwt', expiresAt: new Date(time + 1000) };
        await store.putSession(replaced);
        expect(await store.getSession('u', 'c')).toEqual(replaced);
        advance(1000);
        expect(await store.getSession('u', 'c')).toBeUndefined();
        await store.putSession(session('', 'anonymous-client'));
        await store.deleteSession('', 'anonymous-client');
        expect(await store.getSession('', 'anonymous-client')).toBeUndefined();
      });
    });

    it('finds nothing for lookup keys no record can hold (NUL), and refuses to store them', async () => {
      await store.createDevice({ id: 'd' }, ctx);
      await store.addCredential('d', { kind: 'psk', identity: 'i', key: key(1) }, ctx);
      expect(await store.getDevice('d\0')).toBeUndefined();
      expect(await store.findCredentials({ kind: 'password', username: 'd\0' })).toBeUndefined();
      expect(await store.findCredentials({ kind: 'psk', identity: 'i\0' })).toBeUndefined();
      expect(await store.findCredentials({ kind: 'sas', deviceId: '\0' })).toBeUndefined();
      expect(await store.findCredentials({ kind: 'x509', issuer: 'CN=\0', serial: '1' })).toBeUndefined();
      expect(await store.getSession('u\0', 'c')).toBeUndefined();
      expect(await store.getAdminToken('t\0')).toBeUndefined();
      expect(await codeOf(store.putSession(session('u\0', 'c')))).toBe('ERR_INVALID_INPUT');
    });

    it('takes concurrent writes of one session without waiting for other writes: one of them stands', async () => {
      const writes = Array.from({ length: 10 }, (_, i) => ({ ...session('u', 'c'), authenticator: `a${i}` }));
      await Promise.all(writes.map((write) => store.putSession(write)));
      const stored = await store.getSession('u', 'c');
      expect(writes.map((write) => write.authenticator)).toContain(stored?.authenticator);
    });

    it('stores a session whose client id is longer than a notification may be', async () => {
      const long = 'c'.repeat(10_000);
      await store.putSession(session('u', long));
      expect((await store.getSession('u', long))?.clientId).toBe(long);
    });

    describe('admin tokens', () => {
      it('creates, lists and revokes tokens', async () => {
        const secretHash = new Uint8Array(32).fill(7);
        const token = await store.createAdminToken(
          { id: 't1', secretHash, scopes: ['read', 'write'], description: 'ops' },
          ctx,
        );
        expect(token).toEqual({
          id: 't1',
          secretHash,
          scopes: ['read', 'write'],
          description: 'ops',
          createdAt: new Date(time),
          createdBy: ctx.actor,
        });
        expect(await store.getAdminToken('t1')).toEqual(token);
        expect(await store.getAdminToken('t2')).toBeUndefined();
        expect(await codeOf(store.createAdminToken({ id: 't1', secretHash, scopes: [] }, ctx))).toBe(
          'ERR_REGISTRY_EXISTS',
        );
        advance(10);
        const revoked = await store.revokeAdminToken('t1', ctx);
        expect(revoked.revokedAt).toEqual(new Date(time));
        expect(await store.listAdminTokens()).toEqual([revoked]);
        expect(await codeOf(store.revokeAdminToken('t2', ctx))).toBe('ERR_REGISTRY_NOT_FOUND');
      });
    });

    describe('audit', () => {
      it('records every write with actor, action, target, before and after', async () => {
        await store.createDevice({ id: 'd' }, { actor: 'token:alice' });
        await store.updateDevice('d', { roles: ['r'] }, { actor: 'token:bob' });
        await store.deleteDevice('d', { actor: 'token:carol' });
        const records = await store.listAuditRecords();
        expect(records.map((r) => [r.actor, r.action, r.target])).toEqual([
          ['token:alice', 'device.create', 'd'],
          ['token:bob', 'device.update', 'd'],
          ['token:carol', 'device.delete', 'd'],
        ]);
        expect(records[0]?.before).toBeUndefined();
        expect(records[1]?.before).toMatchObject({ roles: [], version: 1 });
        expect(records[1]?.after).toMatchObject({ roles: ['r'], version: 2 });
        expect(records[2]?.after).toBeUndefined();
        expect(records.every((r) => r.at.getTime() === time)).toBe(true);
        expect(records[1]!.id).toBeGreaterThan(records[0]!.id);
        expect(await store.listAuditRecords({ after: records[0]!.id, limit: 1 })).toEqual([records[1]]);
      });

      it('never puts a secret in an audit record', async () => {
        await store.createDevice({ id: 'd' }, ctx);
        const secrets = [
          '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA',
          'deadbeef'.repeat(4),
          'c0ffee'.repeat(8),
          'private-d',
          '0707',
        ];
        const p = await store.addCredential('d', { kind: 'password', hash: secrets[0]! }, ctx);
        await store.addCredential(
          'd',
          { kind: 'psk', identity: 'i', key: Buffer.from(secrets[1]!, 'hex') },
          ctx,
        );
        await store.addCredential('d', { kind: 'sas', key: Buffer.from(secrets[2]!, 'hex') }, ctx);
        await store.revokeCredential('d', p.id, ctx);
        await store.addSigningKey(
          {
            kid: 'k',
            alg: 'ES256',
            privateJwk: { kty: 'EC', d: secrets[3]! },
            publicJwk: { kty: 'EC' },
            createdAt: new Date(time),
          },
          ctx,
        );
        await store.createAdminToken(
          { id: 't', secretHash: new Uint8Array(32).fill(7), scopes: ['read'] },
          ctx,
        );
        await store.importDevices(
          [{ device: { id: 'i' }, credentials: [{ kind: 'password', hash: secrets[0]! }] }],
          ctx,
        );
        const text = JSON.stringify(await store.listAuditRecords());
        for (const secret of secrets) expect(text).not.toContain(secret);
        // Byte arrays as JSON objects or arrays would leak the key too.
        expect(text).not.toMatch(/"0":|\[(\d+,){15}/);
        expect(text).toContain('[secret]');
        expect(text).toContain('"identity":"i"');
      });
    });

    describe('idempotency', () => {
      it('answers a retried write with its first result, once per actor and key', async () => {
        const retry = { actor: 'token:a', idempotencyKey: 'k-1' };
        const first = await store.addPolicyVersion({ text: 'a', format: 'yaml' }, retry);
        advance(1000);
        const second = await store.addPolicyVersion({ text: 'a', format: 'yaml' }, retry);
        expect(second).toEqual(first);
        expect(await store.listPolicyVersions()).toHaveLength(1);
        // Attribute names that look like an encoding's tags come back as they went in.
        const input = { id: 'd', attributes: { $date: 'not a date', $bytes: ['x'] } };
        const device = await store.createDevice(input, { actor: 'token:a', idempotencyKey: 'k-2' });
        expect(await store.createDevice(input, { actor: 'token:a', idempotencyKey: 'k-2' })).toEqual(device);
        // The same key from another actor is another request.
        const other = await store.addPolicyVersion(
          { text: 'a', format: 'yaml' },
          { actor: 'token:b', idempotencyKey: 'k-1' },
        );
        expect(other.version).toBe(2);
        expect((await store.listAuditRecords()).map((r) => r.action)).toEqual([
          'policy.create',
          'device.create',
          'policy.create',
        ]);
      });

      it('refuses a key reused for another kind of write', async () => {
        const retry = { actor: 'token:a', idempotencyKey: 'k' };
        await store.createDevice({ id: 'd' }, retry);
        expect(await codeOf(store.deleteDevice('d', retry))).toBe('ERR_REGISTRY_CONFLICT');
        expect(await store.getDevice('d')).toBeDefined();
      });

      it('runs a retry again when the first attempt failed', async () => {
        const retry = { actor: 'token:a', idempotencyKey: 'k' };
        expect(await codeOf(store.addCredential('d', { kind: 'password', hash: 'h' }, retry))).toBe(
          'ERR_REGISTRY_NOT_FOUND',
        );
        await store.createDevice({ id: 'd' }, ctx);
        const c = await store.addCredential('d', { kind: 'password', hash: 'h' }, retry);
        expect(await store.addCredential('d', { kind: 'password', hash: 'h' }, retry)).toEqual(c);
        expect(await store.listCredentials('d')).toHaveLength(1);
      });
    });

    describe('change feed', () => {
      it('tells listeners every committed change with increasing epochs', async () => {
        const seen: RegistryChange[] = [];
        const stop = store.onChange((change) => seen.push(change));
        const start = await store.currentEpoch();
        await store.createDevice({ id: 'd' }, ctx);
        const c = await store.addCredential('d', { kind: 'password', hash: 'h' }, ctx);
        await store.revokeCredential('d', c.id, ctx);
        await store.addPolicyVersion({ text: 'x', format: 'yaml' }, ctx);
        await store.activatePolicyVersion(1, ctx);
        await store.createAdminToken({ id: 't', secretHash: new Uint8Array(32), scopes: [] }, ctx);
        await store.addSigningKey(
          { kid: 'k', alg: 'ES256', privateJwk: {}, publicJwk: {}, createdAt: new Date(time) },
          ctx,
        );
        await store.updateDevice('d', { username: 'renamed' }, ctx);
        await store.deleteDevice('d', ctx);
        const expected = [
          { kind: 'device', deviceId: 'd', username: 'd' },
          { kind: 'credential', deviceId: 'd', credentialId: c.id },
          { kind: 'credential', deviceId: 'd', credentialId: c.id },
          { kind: 'policy', version: 1 },
          { kind: 'policy', version: 1 },
          { kind: 'admin-token', tokenId: 't' },
          { kind: 'signing-key', kid: 'k' },
          // A rename changes what both usernames resolve to.
          { kind: 'device', deviceId: 'd', username: 'd' },
          { kind: 'device', deviceId: 'd', username: 'renamed' },
          { kind: 'device', deviceId: 'd', username: 'renamed' },
        ];
        await vi.waitFor(
          () => expect(seen.filter((s) => s.kind !== 'resync')).toHaveLength(expected.length),
          {
            timeout: 15_000,
          },
        );
        const changes = seen.filter((s) => s.kind !== 'resync');
        expect(changes.map(({ epoch: _, ...rest }) => rest)).toEqual(expected);
        const epochs = changes.map((s) => s.epoch);
        expect(epochs).toEqual([...epochs].sort((a, b) => a - b));
        expect(new Set(epochs).size).toBe(epochs.length);
        expect(epochs[0]).toBeGreaterThan(start);
        expect(await store.currentEpoch()).toBe(epochs.at(-1));
        expect(await store.changesSince(start)).toEqual(changes);
        expect(await store.changesSince(epochs[7]!, 1)).toEqual([changes[8]]);
        expect(await store.changesSince(epochs.at(-1)!)).toEqual([]);
        stop();
        await store.createDevice({ id: 'after-stop' }, ctx);
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(seen.filter((s) => s.kind !== 'resync')).toHaveLength(expected.length);
      });

      it('announces one change per imported device, and no session write (nor audits it)', async () => {
        const start = await store.currentEpoch();
        const audits = (await store.listAuditRecords()).length;
        await store.putSession(session('u', 'c'));
        await store.deleteSession('u', 'c');
        expect(await store.currentEpoch()).toBe(start);
        expect(await store.listAuditRecords()).toHaveLength(audits);
        await store.importDevices([{ device: { id: 'a' } }, { device: { id: 'b' } }], ctx);
        expect((await store.changesSince(start)).map(({ epoch: _, ...rest }) => rest)).toEqual([
          { kind: 'device', deviceId: 'a', username: 'a' },
          { kind: 'device', deviceId: 'b', username: 'b' },
        ]);
      });

      it('changes nothing and announces nothing when a write fails', async () => {
        await store.createDevice({ id: 'd' }, ctx);
        const epoch = await store.currentEpoch();
        const audits = (await store.listAuditRecords()).length;
        await codeOf(store.createDevice({ id: 'd' }, ctx));
        await codeOf(store.updateDevice('d', { roles: ['x'] }, ctx, 9));
        expect(await store.currentEpoch()).toBe(epoch);
        expect(await store.listAuditRecords()).toHaveLength(audits);
      });
    });

    describe('copies', () => {
      it('hands out copies: mutating a result or an input never changes the store', async () => {
        const input = { id: 'd', roles: ['a'], attributes: { site: 'x' } };
        const device = await store.createDevice(input, ctx);
        input.roles.push('injected');
        (device.roles as string[]).push('injected');
        (device.attributes as Record<string, string>).site = 'y';
        const read = await store.getDevice('d');
        (read!.clientIds as string[]).push('injected');
        expect(await store.getDevice('d')).toMatchObject({
          roles: ['a'],
          attributes: { site: 'x' },
          clientIds: ['d'],
        });

        const keyBytes = key(1);
        const credential = await store.addCredential('d', { kind: 'psk', identity: 'i', key: keyBytes }, ctx);
        keyBytes.fill(9);
        (credential as { key: Uint8Array }).key.fill(8);
        const found = await store.findCredentials({ kind: 'psk', identity: 'i' });
        (found!.credentials[0] as { key: Uint8Array }).key.fill(7);
        const listed = await store.listCredentials('d');
        expect(Buffer.from((listed[0] as { key: Uint8Array }).key)).toEqual(Buffer.from(key(1)));

        const principal = { id: 'u', clientId: 'c', method: 'password', roles: ['r'], attributes: {} };
        await store.putSession({ ...session('u', 'c'), principal });
        principal.roles.push('admin');
        const stored = await store.getSession('u', 'c');
        (stored!.principal.roles as string[]).push('admin');
        expect((await store.getSession('u', 'c'))?.principal.roles).toEqual(['r']);
      });
    });

    describe('lifecycle', () => {
      it('answers ping, and after close fails with ERR_UNAVAILABLE instead of "not found"', async () => {
        expect(await store.ping()).toBe(true);
        await store.close();
        expect(await store.ping()).toBe(false);
        expect(await codeOf(store.getDevice('d'))).toBe('ERR_UNAVAILABLE');
        expect(await codeOf(store.findCredentials({ kind: 'psk', identity: 'i' }))).toBe('ERR_UNAVAILABLE');
        expect(await codeOf(store.createDevice({ id: 'd' }, ctx))).toBe('ERR_UNAVAILABLE');
      });
    });

    function session(username: string, clientId: string, deviceId?: string) {
      return {
        username,
        clientId,
        principal: {
          id: username,
          clientId,
          username,
          method: 'password',
          roles: ['r'],
          attributes: { site: 'a' },
        },
        authenticator: 'password',
        ...(deviceId !== undefined && { deviceId }),
        expiresAt: new Date(time + 3_600_000),
      };
    }
  });
}

function byId(credentials: readonly Credential[]) {
  return [...credentials].sort((a, b) => a.id.localeCompare(b.id));
}

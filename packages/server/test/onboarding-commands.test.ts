import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPolicy } from '@mqtt-warden/policy';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli.js';
import { run as init } from '../src/commands/init.js';
import { listenOverrides, QUICKSTART_DIR, run as serve } from '../src/commands/serve.js';
import { loadServerConfig } from '../src/server-config.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/quickstart/', import.meta.url));

/** Runs a command in-process (cli.ts loads commands by dynamic import, which vitest cannot map to src/). */
async function capture(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
  const [name, ...args] = argv;
  const code = await (name === 'init' ? init(args) : name === 'serve' ? serve(args) : main(argv));
  return { code, out: out.join('\n'), err: err.join('\n') };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the embedded quickstart defaults', () => {
  it('are the repository’s examples/quickstart (run pnpm build after editing them)', () => {
    // Byte for byte, but for the editor's schema line: the package's schema is one directory up.
    const schemaLine = /^# yaml-language-server: \$schema=.*$/m;
    for (const name of ['warden.yaml', 'policy.yaml', 'users.yaml']) {
      const shipped = readFileSync(join(QUICKSTART_DIR, name), 'utf8');
      const source = readFileSync(join(EXAMPLES, name), 'utf8');
      expect(shipped.replace(schemaLine, ''), name).toBe(source.replace(schemaLine, ''));
      if (name === 'warden.yaml') {
        expect(schemaLine.exec(shipped)?.[0]).toBe('# yaml-language-server: $schema=../warden.schema.json');
      }
    }
  });
});

describe('mqtt-warden --version', () => {
  it('prints the server package version', async () => {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(await capture(['--version'])).toMatchObject({ code: 0, out: manifest.version });
  });
});

describe('mqtt-warden init', () => {
  it('writes a config, policy and users file that load, with fresh passwords printed once', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'warden-init-')), 'conf');
    const r = await capture(['init', dir]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`mqtt-warden serve --config ${join(dir, 'warden.yaml')}`);
    expect(r.out).toContain(`mqtt-warden passwd ${join(dir, 'users.yaml')} USERNAME`);
    const config = await loadServerConfig(join(dir, 'warden.yaml'));
    expect(config.policy.file).toBe(join(dir, 'policy.yaml'));
    // Editors find the package's JSON Schema from wherever DIR is.
    const schema = /^# yaml-language-server: \$schema=(\S+)$/m.exec(
      readFileSync(join(dir, 'warden.yaml'), 'utf8'),
    );
    expect(resolve(dir, schema![1]!)).toBe(join(QUICKSTART_DIR, '..', 'warden.schema.json'));
    expect((await loadPolicy(config.policy.file)).roles.length).toBeGreaterThan(0);
    const users = readFileSync(join(dir, 'users.yaml'), 'utf8');
    // Never the documented demo passwords: the quickstart hashes are replaced.
    for (const hash of readFileSync(join(EXAMPLES, 'users.yaml'), 'utf8').match(/\$argon2id\S+/g) ?? []) {
      expect(users).not.toContain(hash);
    }
    expect(users).not.toMatch(/demo-password/);
    expect(statSync(join(dir, 'users.yaml')).mode & 0o077).toBe(0);
    const demo = /^ {2}demo +(\S+)$/m.exec(r.out)?.[1];
    expect(demo).toMatch(/^[\w-]{20}$/);
    const { verifyPassword } = await import('@mqtt-warden/password');
    const hash = /demo:\n\s+hash: (\S+)/.exec(users)?.[1];
    expect(await verifyPassword(demo!, hash!)).toBe(true);
  });

  it('refuses to overwrite and leaves an existing file as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-init-'));
    writeFileSync(join(dir, 'policy.yaml'), 'mine\n');
    const r = await capture(['init', dir]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${join(dir, 'policy.yaml')} exists already; nothing of it was changed`);
    expect(r.err).toContain('mqtt-warden init DIR');
    expect(readFileSync(join(dir, 'policy.yaml'), 'utf8')).toBe('mine\n');
  });
});

describe('mqtt-warden serve --port/--host and MQTT_WARDEN_PORT/MQTT_WARDEN_HOST', () => {
  it('takes flags over the environment, and the environment over the config', () => {
    expect(listenOverrides({}, {})).toEqual({});
    expect(listenOverrides({}, { MQTT_WARDEN_PORT: '9000', MQTT_WARDEN_HOST: '0.0.0.0' })).toEqual({
      port: 9000,
      host: '0.0.0.0',
    });
    expect(listenOverrides({ port: '0', host: '::1' }, { MQTT_WARDEN_PORT: '9000' })).toEqual({
      port: 0,
      host: '::1',
    });
  });

  it('refuses a port that is not one, naming where it came from', async () => {
    expect(() => listenOverrides({}, { MQTT_WARDEN_PORT: '80a' })).toThrow(
      'MQTT_WARDEN_PORT must be a port number from 0 to 65535, not "80a"',
    );
    const r = await capture(['serve', '--port', '70000']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--port must be a port number from 0 to 65535, not "70000"');
  });
});

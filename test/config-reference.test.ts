/**
 * The config reference cannot drift from the schema the server validates with: docs/config-reference.md
 * and packages/server/warden.schema.json are regenerated here and compared with the committed files, and
 * every example config must pass both the JSON Schema (as an editor checks it) and the server's zod schema.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  CONFIG_SCHEMA_FILE,
  configJsonSchema,
  withConfigReference,
} from '../packages/server/src/config-reference.js';
import { parseServerConfig, ServerConfigSchema } from '../packages/server/src/server-config.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SCHEMA_FILE = join(ROOT, 'packages/server', CONFIG_SCHEMA_FILE);
const REFERENCE = join(ROOT, 'docs/config-reference.md');
const REGENERATE = 'stale: run pnpm run config-reference and commit the result';

/** Every server config in the repository: the examples' and the deployment recipes'. */
const CONFIGS = [
  ...readdirSync(join(ROOT, 'examples')).map((dir) => join(ROOT, 'examples', dir, 'warden.yaml')),
  join(ROOT, 'deploy/warden.yaml'),
].filter(existsSync);

// Formats (uri) are left to the server's zod check, which every config here also passes.
const validator = () =>
  new Ajv2020({ allErrors: true, strict: false, validateFormats: false }).compile(configJsonSchema());

describe('the generated config reference', () => {
  it('warden.schema.json is what the zod schema generates now', () => {
    expect(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')), REGENERATE).toEqual(configJsonSchema());
  });

  it('docs/config-reference.md holds the reference the zod schema generates now', () => {
    const doc = readFileSync(REFERENCE, 'utf8');
    expect(doc, REGENERATE).toBe(withConfigReference(doc, configJsonSchema()));
  });

  it('documents every top-level key of the schema, with a description', () => {
    const doc = readFileSync(REFERENCE, 'utf8');
    const properties = configJsonSchema().properties as Record<string, { description?: string }>;
    expect(Object.keys(properties)).toEqual(Object.keys(ServerConfigSchema.shape));
    for (const [key, property] of Object.entries(properties)) {
      expect(property.description, `${key}: add .describe() in server-config.ts`).toBeTruthy();
      expect(doc).toMatch(new RegExp(`^## \`${key}[\`[]`, 'm'));
    }
    for (const path of ['/healthz', '/readyz', '/metrics', 'listen.tls', 'adapters.emqx']) {
      expect(doc).toContain(path);
    }
  });

  it('ships the JSON Schema in the server package, as a file and an export', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'packages/server/package.json'), 'utf8'));
    expect(manifest.files).toContain(CONFIG_SCHEMA_FILE);
    expect(manifest.exports[`./${CONFIG_SCHEMA_FILE}`]).toBe(`./${CONFIG_SCHEMA_FILE}`);
  });
});

describe('every example config', () => {
  it('is found (the quickstart and the deployment recipe at least)', () => {
    expect(CONFIGS.map((file) => file.slice(ROOT.length))).toEqual(
      expect.arrayContaining(['examples/quickstart/warden.yaml', 'deploy/warden.yaml']),
    );
  });

  it.each(CONFIGS.map((file) => [file.slice(ROOT.length), file]))(
    '%s names the JSON Schema for editors and passes it and the zod schema',
    (_, file) => {
      const text = readFileSync(file, 'utf8');
      const line = /^# yaml-language-server: \$schema=(\S+)$/m.exec(text);
      expect(line, 'first lines: # yaml-language-server: $schema=RELATIVE_PATH').not.toBeNull();
      expect(resolve(dirname(file), line![1]!)).toBe(SCHEMA_FILE);
      const validate = validator();
      expect(validate(parse(text)), JSON.stringify(validate.errors)).toBe(true);
      expect(() => parseServerConfig(text, { file })).not.toThrow();
    },
  );
});

describe('the JSON Schema', () => {
  const base = 'policy: { file: policy.yaml }\nauthenticators: [{ type: password, file: users.yaml }]\n';

  it.each([
    ['an unknown top-level key', `${base}listne: { port: 8080 }\n`],
    ['an unknown nested key', `${base}listen: { prot: 8080 }\n`],
    ['a port out of range', `${base}listen: { port: 70000 }\n`],
    ['an unknown authenticator type', 'policy: { file: p.yaml }\nauthenticators: [{ type: ldap }]\n'],
    ['a log level that does not exist', `${base}log: { level: verbose }\n`],
    ['a secret that is neither inline, file nor env', `${base}metrics: { bearerToken: { vault: x } }\n`],
    ['no authenticators', 'policy: { file: policy.yaml }\n'],
  ])('refuses %s, as the server does', (_, text) => {
    expect(validator()(parse(text))).toBe(false);
    expect(() => parseServerConfig(text, { baseDir: ROOT })).toThrow();
  });
});

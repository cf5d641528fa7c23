/**
 * Every package is publishable as users get it: metadata, LICENSE, a README whose TypeScript examples
 * type-check against the built packages, no source maps into unshipped src/, and publint finds nothing.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publint } from 'publint';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PACKAGES = readdirSync(join(ROOT, 'packages')).filter((name) =>
  existsSync(join(ROOT, 'packages', name, 'package.json')),
);
const manifest = (name: string) =>
  JSON.parse(readFileSync(join(ROOT, 'packages', name, 'package.json'), 'utf8'));

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((file) => join(dir, file));
}

describe('every package', () => {
  it.each(PACKAGES)('%s has complete publishing metadata and the repository LICENSE', (name) => {
    const m = manifest(name);
    const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(m.repository).toEqual({ ...root.repository, directory: `packages/${name}` });
    expect(m.homepage).toMatch(new RegExp(`/packages/${name}#readme$`));
    expect(m.bugs?.url).toMatch(/\/issues$/);
    expect(m.keywords).toContain('mqtt');
    expect(m.sideEffects).toBe(false);
    expect(m.publishConfig).toEqual({ access: 'public' });
    expect(m.files).toEqual(expect.arrayContaining(['dist', 'LICENSE', 'README.md']));
    expect(readFileSync(join(ROOT, 'packages', name, 'LICENSE'), 'utf8')).toBe(
      readFileSync(join(ROOT, 'LICENSE'), 'utf8'),
    );
  });

  it.each(PACKAGES)('%s ships no source map pointing at the unshipped src/', (name) => {
    const dist = join(ROOT, 'packages', name, 'dist');
    expect(existsSync(dist), 'build first: pnpm build').toBe(true);
    const files = filesUnder(dist);
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    const pointing = files.filter(
      (f) => f.endsWith('.js') && readFileSync(f, 'utf8').includes('sourceMappingURL'),
    );
    expect(pointing).toEqual([]);
  });

  it.each(PACKAGES)('%s passes publint', { timeout: 120_000 }, async (name) => {
    const { messages } = await publint({ pkgDir: join(ROOT, 'packages', name), pack: 'pnpm', strict: true });
    expect(messages.map((m) => `${m.type} ${m.code} ${JSON.stringify(m.args)}`)).toEqual([]);
  });
});

describe('README examples', () => {
  it('type-check against the built packages', { timeout: 180_000 }, async () => {
    const out = join(ROOT, 'test/.readme-examples');
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    const written: string[] = [];
    for (const name of PACKAGES) {
      const readme = readFileSync(join(ROOT, 'packages', name, 'README.md'), 'utf8');
      const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
      // The server's README shows the command line, which test/installed-cli.test.ts runs as users do.
      if (name !== 'server')
        expect(blocks.length, `${name}/README.md has no \`\`\`ts example`).toBeGreaterThan(0);
      for (const [index, code] of blocks.entries()) {
        const file = join(out, `${name}-${index + 1}.ts`);
        writeFileSync(file, `${code}\nexport {};\n`);
        written.push(file);
      }
    }
    writeFileSync(
      join(out, 'tsconfig.json'),
      JSON.stringify({
        extends: '../../tsconfig.base.json',
        compilerOptions: {
          noEmit: true,
          composite: false,
          paths: { '@mqtt-warden/*': ['../../packages/*/dist/index.d.ts'] },
        },
        include: ['*.ts'],
      }),
    );
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const result = await new Promise<{ code: number; output: string }>((resolve) =>
      execFile(
        process.execPath,
        [tsc, '-p', join(out, 'tsconfig.json')],
        { timeout: 170_000 },
        (error, stdout) => resolve({ code: error ? 1 : 0, output: stdout }),
      ),
    );
    expect(result.output, written.join('\n')).toBe('');
    expect(result.code).toBe(0);
  });
});

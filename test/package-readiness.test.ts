/**
 * Every package is publishable as users get it: metadata, LICENSE, a README whose TypeScript examples
 * type-check against the built packages and run (each in its own node process, against the built
 * packages), no source maps into unshipped src/, and publint finds nothing.
 */
import { execFile, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publint } from 'publint';
import { beforeAll, describe, expect, it } from 'vitest';
import { packedTarballs } from './installed-packages.js';
import { isCode, readmeBlocks, toJavaScript } from './readme-blocks.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PACKAGES = readdirSync(join(ROOT, 'packages')).filter((name) =>
  existsSync(join(ROOT, 'packages', name, 'package.json')),
);
const manifest = (name: string) =>
  JSON.parse(readFileSync(join(ROOT, 'packages', name, 'package.json'), 'utf8'));
const readme = (name: string) =>
  readmeBlocks(readFileSync(join(ROOT, 'packages', name, 'README.md'), 'utf8'));

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

  it.each(PACKAGES)(
    '%s passes @arethetypeswrong/cli on its packed tarball (ESM-only packages: CommonJS resolution aside)',
    { timeout: 180_000 },
    async (name) => {
      const m = manifest(name);
      const tarball = (await packedTarballs()).get(m.name)!;
      // Packages with a require condition must resolve everywhere (strict); the ESM-only ones everywhere
      // but from require() (esm-only: CommonJS callers use import(), as their READMEs say).
      const profile = m.exports['.'].require ? 'strict' : 'esm-only';
      const attw = join(ROOT, 'node_modules/.bin/attw');
      const result = await new Promise<{ code: number; output: string }>((resolve) =>
        execFile(
          attw,
          [tarball, '--profile', profile, '--format', 'ascii', '--no-color'],
          { timeout: 170_000 },
          (error, stdout, stderr) => resolve({ code: error ? 1 : 0, output: stdout + stderr }),
        ),
      );
      expect(result.output).toMatch(/node16 \(from ESM\): 🟢 \(ESM\)/);
      expect(result.code, result.output).toBe(0);
    },
  );

  it('changesets version them as one set and publish them publicly (docs/releasing.md says why)', () => {
    const config = JSON.parse(readFileSync(join(ROOT, '.changeset/config.json'), 'utf8'));
    expect(config).toMatchObject({ access: 'public', fixed: [['@mqtt-warden/*']], linked: [] });
    const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(root.scripts.release).toMatch(/pnpm run build && changeset publish/);
  });

  it('the README of each says whether require() works, as its exports do', () => {
    for (const name of PACKAGES) {
      const m = manifest(name);
      const text = readFileSync(join(ROOT, 'packages', name, 'README.md'), 'utf8');
      if (m.exports['.'].require) expect(text, name).toContain('ES modules and CommonJS (`require`)');
      else expect(text, name).toContain('ES modules only');
    }
  });

  it.each(PACKAGES)(
    '%s has a CHANGELOG.md for changesets to add releases to, shipped in the package',
    (name) => {
      const m = manifest(name);
      expect(m.files).toContain('CHANGELOG.md');
      expect(readFileSync(join(ROOT, 'packages', name, 'CHANGELOG.md'), 'utf8')).toMatch(
        new RegExp(`^# ${m.name}\n\n## ${m.version.replaceAll('.', '\\.')}\n`),
      );
    },
  );

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
      const blocks = readme(name)
        .filter(isCode)
        .map((block) => block.code);
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

/** Runs an example with node in `cwd`; with `until`, a server: done once it printed that, then stopped. */
function runExample(
  file: string,
  cwd: string,
  until?: string,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    // PORT=0: an example that listens takes a free port (the READMEs read PORT, defaulting to the usual one).
    const env = { ...process.env, PORT: '0' };
    const child = spawn(process.execPath, [file], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let done = false;
    const finish = (code: number | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.kill('SIGTERM');
      resolve({ code, output });
    };
    const timer = setTimeout(() => finish(-1), 60_000);
    const read = (chunk: Buffer) => {
      output += chunk;
      if (until !== undefined && output.includes(until)) finish(0);
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('exit', (code) => finish(until === undefined ? code : -1));
  });
}

describe('README examples run', () => {
  const run = join(ROOT, 'test/.readme-run');

  beforeAll(() => {
    // Each example imports the packages by name, as a user's project does: link them (built dist) in.
    rmSync(run, { recursive: true, force: true });
    mkdirSync(join(run, 'node_modules/@mqtt-warden'), { recursive: true });
    for (const name of PACKAGES) {
      symlinkSync(join(ROOT, 'packages', name), join(run, 'node_modules/@mqtt-warden', name), 'dir');
    }
  });

  it.each(PACKAGES)(
    '%s: each ts/js example runs with node (or says why not)',
    { timeout: 300_000 },
    async (name) => {
      const blocks = readme(name);
      const dir = join(run, name);
      mkdirSync(dir);
      for (const block of blocks) if (block.file) writeFileSync(join(dir, block.file), block.code);
      for (const [index, block] of blocks.filter(isCode).entries()) {
        if (block.notRun !== undefined) continue;
        const file = join(dir, `example-${index + 1}.mjs`);
        writeFileSync(file, toJavaScript(block.code));
        const result = await runExample(file, dir, block.until);
        expect(result.code, `${name}/README.md example ${index + 1}:\n${result.output}`).toBe(0);
        // `console.log(x); // shown` says what it prints: those lines, in that order. (Blanks, not \s: a
        // console.log without a comment must not take the comment of a line below as its output.)
        const shown = [...block.code.matchAll(/^[ \t]*console\.log\(.*\);[ \t]*\/\/ (.+)$/gm)].map(
          (m) => m[1],
        );
        const printed = result.output.split('\n').filter((line) => shown.includes(line));
        expect(printed, `${name}/README.md example ${index + 1}:\n${result.output}`).toEqual(shown);
      }
    },
  );

  it('leaves few examples unrun, each with its reason', () => {
    const unrun = PACKAGES.flatMap((name) =>
      readme(name)
        .filter((block) => isCode(block) && block.notRun !== undefined)
        .map((block) => `${name}: ${block.notRun}`),
    );
    for (const entry of unrun) expect(entry).toMatch(/: \S.{20,}/);
    expect(unrun.length, unrun.join('\n')).toBeLessThanOrEqual(2);
  });
});

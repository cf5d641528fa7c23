/**
 * The README's policy example is executed as written: its policy file, then each `mqtt-warden` line of the
 * shell block that follows, through the built CLI. A line marked `# DENY` must exit 1, the others 0.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = join(ROOT, 'packages/server/dist/bin.js');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('## A policy, and a test for it'));
const policy = /```yaml\n# policy\.yaml\n([\s\S]*?)```/.exec(section)?.[1];
const shell = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
const commands = (shell ?? '')
  .split('\n')
  .filter((line) => line.startsWith('mqtt-warden '))
  .map((line) => ({ line, deny: line.includes('# DENY') }));

/** Splits a shell line into words, honouring single quotes and dropping a trailing comment. */
function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.replace(/\s+#.*$/, '').matchAll(/'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2]!);
  return out.slice(1);
}

function run(args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, output: stdout + stderr });
    });
  });
}

describe('README quickstart command', () => {
  // `pnpm start` on a fresh clone must produce everything `serve` reads without --config: the quickstart
  // files are copied into the server package by the build script, not by `tsc -b` alone.
  it('runs the whole build before serving', () => {
    const scripts = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts;
    expect(readme).toContain('npx -y pnpm@10 start');
    expect(scripts.build).toContain('copy-quickstart');
    expect(scripts.start).toMatch(/^pnpm run build && node packages\/server\/dist\/bin\.js serve$/);
  });
});

describe('README example', () => {
  it('has a policy and commands to run', () => {
    expect(existsSync(CLI), 'build first: pnpm build').toBe(true);
    expect(policy).toBeDefined();
    expect(commands.length).toBeGreaterThanOrEqual(4);
    expect(commands.filter((c) => c.deny).length).toBeGreaterThanOrEqual(1);
  });

  it('runs every command with the documented outcome', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-readme-'));
    writeFileSync(join(dir, 'policy.yaml'), policy!);
    symlinkSync(join(ROOT, 'examples'), join(dir, 'examples'));
    for (const { line, deny } of commands) {
      const { code, output } = await run(words(line), dir);
      expect({ line, code }, output).toEqual({ line, code: deny ? 1 : 0 });
      if (deny) expect(output).toMatch(/DENY/);
    }
    expect(readFileSync(join(dir, 'report.xml'), 'utf8')).toMatch(/<testsuites?[\s>]/);
  });
});

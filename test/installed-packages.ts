/**
 * The workspace packages as users get them: every package packed once with `pnpm pack` (shared by every
 * test file and every run until the built packages change), then installed from the tarballs with npm or
 * pnpm into fresh directories under the OS temp directory, outside the workspace.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** npm or pnpm installing from the registry (or its cache) on a loaded machine. */
export const INSTALL_TIMEOUT_MS = 300_000;

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly dependencies?: Record<string, string>;
  readonly exports?: Record<string, { readonly require?: unknown }>;
}

/** The environment of a user's shell: none of the npm_* / pnpm variables this test process runs under. */
export function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(npm_|pnpm_|PNPM_)/i.test(key)) env[key] = value;
  }
  env.PATH = [dirname(process.execPath), env.PATH ?? ''].join(delimiter);
  return { ...env, ...extra };
}

export function run(file: string, args: string[], cwd: string, timeout = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env: userEnv(), timeout, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A free loopback port for a server an installed package starts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Every workspace package's manifest, by package name. */
export function workspaceManifests(): Map<string, Manifest> {
  const manifests = new Map<string, Manifest>();
  for (const entry of readdirSync(join(ROOT, 'packages'))) {
    const file = join(ROOT, 'packages', entry, 'package.json');
    if (!existsSync(file)) continue;
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
    manifests.set(manifest.name, manifest);
  }
  return manifests;
}

/** The named packages and every @mqtt-warden package they depend on, directly or not. */
export function closure(...names: string[]): string[] {
  const manifests = workspaceManifests();
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    for (const dep of Object.keys(manifests.get(name)?.dependencies ?? {})) {
      if (dep.startsWith('@mqtt-warden/')) visit(dep);
    }
  };
  for (const name of names) visit(name);
  return [...seen];
}

/** What the tarballs are made of: each package's files but sources and tests (names and contents). */
function packFingerprint(): string {
  const hash = createHash('sha256');
  for (const entry of readdirSync(join(ROOT, 'packages')).sort()) {
    const dir = join(ROOT, 'packages', entry);
    if (!existsSync(join(dir, 'package.json'))) continue;
    hash.update(readFileSync(join(dir, 'package.json')));
    for (const file of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
      if (file.startsWith('node_modules') || file.startsWith('src') || file.startsWith('test')) continue;
      // Contents, not times: a build or prepack that rewrites a file unchanged needs no new pack.
      const path = join(dir, file);
      if (statSync(path).isFile()) hash.update(`${file}\n`).update(readFileSync(path));
    }
  }
  return hash.digest('hex').slice(0, 16);
}

let packed: Promise<Map<string, string>> | undefined;

/**
 * Tarball path by package name, for every workspace package. Packed once for all test files (a lock
 * directory makes concurrent files wait for the first) and reused by later runs while the packages stay
 * the same; build first (`pnpm build`).
 */
export function packedTarballs(): Promise<Map<string, string>> {
  packed ??= packOnce();
  return packed;
}

async function packOnce(): Promise<Map<string, string>> {
  if (!existsSync(join(ROOT, 'packages/server/dist/bin.js'))) throw new Error('build first: pnpm build');
  const dir = join(tmpdir(), `mqtt-warden-packs-${packFingerprint()}`);
  const tarballs = () =>
    new Map(
      [...workspaceManifests().values()].map(({ name, version }) => [
        name,
        join(dir, `${name.slice(1).replace('/', '-')}-${version}.tgz`),
      ]),
    );
  const lock = `${dir}.lock`;
  for (const started = Date.now(); !existsSync(dir); ) {
    try {
      mkdirSync(lock);
    } catch {
      // Another test file is packing: wait for it (or take over a lock left by a killed run).
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > INSTALL_TIMEOUT_MS) rmSync(lock, { force: true, recursive: true });
      if (Date.now() - started > INSTALL_TIMEOUT_MS) throw new Error(`timed out waiting for ${lock}`);
      await sleep(500);
      continue;
    }
    try {
      const staging = mkdtempSync(`${dir}-staging-`);
      const result = await run('pnpm', ['-r', 'pack', '--pack-destination', staging], ROOT, 180_000);
      if (result.code !== 0) throw new Error(`pnpm pack failed:\n${result.stderr}`);
      renameSync(staging, dir);
      forgetOldPacks();
    } finally {
      rmSync(lock, { force: true, recursive: true });
    }
  }
  const map = tarballs();
  for (const tarball of map.values()) if (!existsSync(tarball)) throw new Error(`not packed: ${tarball}`);
  return map;
}

/** Packs of builds a day old are of no more use (a build changes the fingerprint). */
function forgetOldPacks(): void {
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith('mqtt-warden-packs-')) continue;
    const path = join(tmpdir(), entry);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat && Date.now() - stat.mtimeMs > 86_400_000) rmSync(path, { recursive: true, force: true });
  }
}

/** A fresh directory under the OS temp directory holding a private package.json (and `extra` fields). */
export function userProject(prefix: string, extra: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: 'warden-user', private: true, ...extra }, null, 2)}\n`,
  );
  return dir;
}

/** `npm install` of the named workspace packages (and their @mqtt-warden dependencies) plus `registry` specs. */
export async function npmInstall(dir: string, packages: string[], registry: string[] = []): Promise<Run> {
  const tarballs = await packedTarballs();
  const files = closure(...packages).map((name) => tarballs.get(name)!);
  return run(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...files, ...registry],
    dir,
    INSTALL_TIMEOUT_MS - 30_000,
  );
}

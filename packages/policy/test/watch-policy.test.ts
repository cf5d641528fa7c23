import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGuard } from '@mqtt-warden/core';
import { PolicyError, type PolicyWatcher, watchPolicy } from '@mqtt-warden/policy';
import { afterEach, describe, expect, it } from 'vitest';
import { principal } from './helpers.js';

const doc = (topic: string) =>
  `version: 1\nusers: { u: [r] }\nroles: { r: { rules: [{ effect: allow, actions: publish, topics: "${topic}" }] } }\n`;

function nextEvent<T>(register: (resolve: (value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no reload event within 5 s')), 5000);
    register((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

describe('watchPolicy', () => {
  let watcher: PolicyWatcher | undefined;
  let dir = '';
  afterEach(async () => {
    watcher?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('swaps in a valid new policy, clears the guard cache, and keeps the old one when the new one is invalid', async () => {
    dir = await mkdtemp(join(tmpdir(), 'watch-'));
    const file = join(dir, 'policy.yaml');
    await writeFile(file, doc('a'));
    let onReload: ((v: unknown) => void) | undefined;
    let onError: ((e: unknown) => void) | undefined;
    watcher = await watchPolicy(file, {
      debounceMs: 20,
      onReload: (p) => onReload?.(p),
      onError: (e) => onError?.(e),
    });
    const guard = createGuard({ authenticators: [], authorizer: watcher });
    const u = principal({ username: 'u' });
    expect(guard.authorize(u, { action: 'publish', topic: 'a' }).allowed).toBe(true);
    expect(guard.stats().cacheSize).toBe(1);

    const reloaded = nextEvent((resolve) => {
      onReload = resolve;
    });
    await writeFile(file, doc('b'));
    await reloaded;
    expect(guard.stats().cacheSize).toBe(0);
    expect(guard.authorize(u, { action: 'publish', topic: 'a' }).allowed).toBe(false);
    expect(guard.authorize(u, { action: 'publish', topic: 'b' }).allowed).toBe(true);

    const failed = nextEvent<unknown>((resolve) => {
      onError = resolve;
    });
    await writeFile(file, 'version: 1\nroles: { r: { rules: [{ effect: allow, topics: "#" }] } }\n');
    const error = await failed;
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as PolicyError).issues[0]).toMatchObject({ file, line: 2 });
    expect(watcher.authorize(u, { action: 'publish', topic: 'b' }).allowed).toBe(true);

    // Editors replace the file by renaming a temporary one over it.
    const renamed = nextEvent((resolve) => {
      onReload = resolve;
    });
    await writeFile(join(dir, 'tmp'), doc('c'));
    await rename(join(dir, 'tmp'), file);
    await renamed;
    expect(watcher.authorize(u, { action: 'publish', topic: 'c' }).allowed).toBe(true);
    guard.close();
  });

  it('refuses to start on an invalid file', async () => {
    dir = await mkdtemp(join(tmpdir(), 'watch-'));
    const file = join(dir, 'policy.yaml');
    await writeFile(file, 'version: 1\nroles: [\n');
    await expect(watchPolicy(file)).rejects.toBeInstanceOf(PolicyError);
  });

  it('reload() reports whether the policy changed', async () => {
    dir = await mkdtemp(join(tmpdir(), 'watch-'));
    const file = join(dir, 'policy.yaml');
    await writeFile(file, doc('a'));
    watcher = await watchPolicy(file, { debounceMs: 10_000 });
    let changes = 0;
    watcher.onChange(() => changes++);
    expect(await watcher.reload()).toBe(false);
    await writeFile(file, doc('z'));
    expect(await watcher.reload()).toBe(true);
    expect(changes).toBe(1);
  });
});

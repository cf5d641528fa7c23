import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileSink } from '../src/index.js';
import { records } from './records.js';

const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean);

describe('file sink', () => {
  it('appends JSON lines to a file only its owner can read', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'audit-file-')), 'audit.jsonl');
    const sink = new FileSink({ path });
    const batch = records(3);
    await sink.send(batch);
    await sink.close();
    expect(lines(path)).toEqual(batch.map((item) => item.line));
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('rotates by size, keeping `keep` files, and loses no line in between', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-file-'));
    const path = join(dir, 'audit.jsonl');
    const all = records(100);
    const bytes = all[0]!.bytes + 1;
    const sink = new FileSink({ path, maxBytes: bytes * 10, keep: 20 });
    for (let n = 0; n < 100; n += 4) await sink.send(all.slice(n, n + 4));
    await sink.close();
    const files = readdirSync(dir).sort();
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) expect(statSync(join(dir, file)).size).toBeLessThanOrEqual(bytes * 10);
    // PATH.N is older than PATH.N-1, and PATH is the newest.
    const ordered = [
      ...files
        .filter((f) => f !== 'audit.jsonl')
        .sort((a, b) => Number(b.split('.').pop()) - Number(a.split('.').pop())),
      'audit.jsonl',
    ];
    expect(ordered.flatMap((file) => lines(join(dir, file)))).toEqual(all.map((item) => item.line));
  });

  it('keeps at most `keep` rotated files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-file-'));
    const path = join(dir, 'audit.jsonl');
    const all = records(100);
    const sink = new FileSink({ path, maxBytes: (all[0]!.bytes + 1) * 10, keep: 2 });
    for (let n = 0; n < 100; n += 4) await sink.send(all.slice(n, n + 4));
    await sink.close();
    expect(readdirSync(dir).sort()).toEqual(['audit.jsonl', 'audit.jsonl.1', 'audit.jsonl.2']);
    // The newest lines survive.
    expect(lines(path).at(-1)).toBe(all[99]!.line);
  });

  it('rotates by age', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-file-'));
    const path = join(dir, 'audit.jsonl');
    let now = Date.now();
    const sink = new FileSink({ path, maxAgeHours: 1, keep: 3, now: () => now });
    const [a, b, c] = records(3);
    await sink.send([a!]);
    now += 30 * 60_000;
    await sink.send([b!]);
    now += 31 * 60_000;
    await sink.send([c!]);
    await sink.close();
    expect(lines(`${path}.1`)).toEqual([a!.line, b!.line]);
    expect(lines(path)).toEqual([c!.line]);
  });
});

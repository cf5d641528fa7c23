import { appendFileSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type AuditRecord, followTrail, matchesTrailFilter } from '../src/index.js';
import { until } from './records.js';

const line = (n: number) =>
  JSON.stringify({ time: 't', kind: 'authorize', decision: 'deny', topic: `t/${n}` });

describe('followTrail', () => {
  it('reads the file, then follows appends, a rotation and a truncation', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'audit-follow-')), 'audit.jsonl');
    writeFileSync(path, `${line(0)}\n${line(1)}\n`);
    const stop = new AbortController();
    const seen: string[] = [];
    const done = (async () => {
      for await (const text of followTrail(path, { follow: true, pollMs: 20, signal: stop.signal }))
        seen.push(text);
    })();
    await until(() => seen.length === 2);
    // Half a line, then its end: emitted once whole.
    appendFileSync(path, line(2).slice(0, 10));
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toHaveLength(2);
    appendFileSync(path, `${line(2).slice(10)}\n`);
    await until(() => seen.length === 3);
    // Rotation as the file sink does it: a last line, rename, a new file.
    appendFileSync(path, `${line(3)}\n`);
    renameSync(path, `${path}.1`);
    writeFileSync(path, `${line(4)}\n`);
    await until(() => seen.length === 5);
    // Truncated in place (copytruncate): read again from the start.
    writeFileSync(path, '');
    await new Promise((r) => setTimeout(r, 100));
    appendFileSync(path, `${line(5)}\n`);
    await until(() => seen.length === 6);
    stop.abort();
    await done;
    expect(seen).toEqual([0, 1, 2, 3, 4, 5].map(line));
  });

  it('without follow, reads to the end and stops', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'audit-follow-')), 'audit.jsonl');
    writeFileSync(path, `${line(0)}\n${line(1)}\n`);
    const seen: string[] = [];
    for await (const text of followTrail(path)) seen.push(text);
    expect(seen).toEqual([line(0), line(1)]);
  });

  it('filters by principal, address and decision, alerts by their source', () => {
    const refused = {
      time: 't',
      kind: 'authorize',
      decision: 'deny',
      principal: 'p1',
      username: 'u1',
      clientId: 'c1',
      address: '192.0.2.1',
    } as AuditRecord;
    const alert = {
      time: 't',
      kind: 'alert',
      alert: { rule: 'r', source: '192.0.2.1', what: 'w', since: 't', count: 3 },
    } as AuditRecord;
    expect(matchesTrailFilter(refused, { principal: 'u1', address: '192.0.2.1', decision: 'deny' })).toBe(
      true,
    );
    expect(matchesTrailFilter(refused, { principal: 'c1' })).toBe(true);
    expect(matchesTrailFilter(refused, { principal: 'p2' })).toBe(false);
    expect(matchesTrailFilter(refused, { decision: 'allow' })).toBe(false);
    expect(matchesTrailFilter(refused, { address: '192.0.2.2' })).toBe(false);
    expect(matchesTrailFilter(alert, { address: '192.0.2.1', decision: 'deny' })).toBe(true);
    expect(matchesTrailFilter(alert, { principal: 'p1' })).toBe(false);
  });
});

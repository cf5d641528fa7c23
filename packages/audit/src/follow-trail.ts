import { type FileHandle, open, stat } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditRecord } from './audit-record.js';

/** What `mqtt-warden audit tail` keeps; every given field must match. */
export interface TrailFilter {
  /** A principal id, username or client id. */
  readonly principal?: string;
  readonly address?: string;
  readonly decision?: 'allow' | 'deny';
}

/**
 * Whether a record passes a filter. An alert passes a principal or address filter when its source is
 * that principal or address, and passes a decision filter `deny`.
 *
 * @example
 * ```ts
 * matchesTrailFilter(record, { decision: 'deny', address: '192.0.2.7' });
 * ```
 */
export function matchesTrailFilter(record: AuditRecord, filter: TrailFilter): boolean {
  const source = record.alert?.source;
  if (
    filter.principal !== undefined &&
    ![record.principal, record.username, record.clientId, source].includes(filter.principal)
  ) {
    return false;
  }
  if (filter.address !== undefined && record.address !== filter.address && source !== filter.address) {
    return false;
  }
  if (
    filter.decision !== undefined &&
    (record.decision ?? (record.alert ? 'deny' : undefined)) !== filter.decision
  ) {
    return false;
  }
  return true;
}

export interface FollowOptions {
  /** Keep reading as the file grows and after it is rotated (`tail -F`); default false. */
  readonly follow?: boolean;
  /** How often to look for new lines and rotation (default 250 ms). */
  readonly pollMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * The lines of a JSON-lines trail file, from its start; with `follow`, then every line appended, also
 * across rotation (the renamed file is read to its end, then the new one from its start) and
 * truncation. Ends when `signal` aborts.
 *
 * @example
 * ```ts
 * for await (const line of followTrail('audit.jsonl', { follow: true, signal })) console.log(line);
 * ```
 */
export async function* followTrail(path: string, options: FollowOptions = {}): AsyncGenerator<string> {
  const { follow = false, pollMs = 250, signal } = options;
  let file = await openWhenPresent(path, follow, pollMs, signal);
  if (!file) return;
  let inode = (await file.stat()).ino;
  let position = 0;
  let decoder = new StringDecoder('utf8');
  let rest = '';
  let draining = false;
  const buffer = Buffer.alloc(64 * 1024);
  try {
    while (!signal?.aborted) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
      if (bytesRead > 0) {
        position += bytesRead;
        const lines = (rest + decoder.write(buffer.subarray(0, bytesRead))).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) if (line !== '') yield line;
        continue;
      }
      if (!follow) return;
      const current = await stat(path).catch(() => undefined);
      if (current && current.ino !== inode) {
        // Rotated: read the old file to its end once more (lines written just before the rename), then
        // start the new one.
        if (!draining) {
          draining = true;
          continue;
        }
        draining = false;
        await file.close();
        file = await open(path, 'r');
        inode = (await file.stat()).ino;
        position = 0;
        rest = '';
        decoder = new StringDecoder('utf8');
        continue;
      }
      if (current && current.size < position) {
        position = 0;
        rest = '';
      }
      await sleep(pollMs, undefined, { signal }).catch(() => undefined);
    }
  } finally {
    await file.close();
  }
}

async function openWhenPresent(
  path: string,
  follow: boolean,
  pollMs: number,
  signal: AbortSignal | undefined,
): Promise<FileHandle | undefined> {
  for (;;) {
    try {
      return await open(path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !follow) throw error;
    }
    await sleep(pollMs, undefined, { signal }).catch(() => undefined);
    if (signal?.aborted) return undefined;
  }
}

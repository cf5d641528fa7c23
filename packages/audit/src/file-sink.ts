import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import type { AuditSink, QueuedRecord } from './audit-sink.js';

export interface FileSinkOptions {
  readonly path: string;
  /** Rotate before the file would pass this size (default 100 MiB). */
  readonly maxBytes?: number;
  /** Rotate once the file is this old (default 24 h); 0 turns time rotation off. */
  readonly maxAgeHours?: number;
  /** Rotated files kept: `PATH.1` (newest) to `PATH.{keep}` (default 7). */
  readonly keep?: number;
  readonly now?: () => number;
}

/**
 * JSON lines appended to a file (mode 0600) with size and time rotation: the current file is renamed
 * `PATH.1`, older ones shift up to `PATH.{keep}`, and a new file starts.
 *
 * @example
 * ```ts
 * const sink = new FileSink({ path: '/var/log/mqtt-warden/audit.jsonl', maxBytes: 50 * 2 ** 20, keep: 10 });
 * ```
 */
export class FileSink implements AuditSink {
  readonly name = 'file';
  readonly batchSize = 500;
  readonly path: string;
  readonly #maxBytes: number;
  readonly #maxAgeMs: number;
  readonly #keep: number;
  readonly #now: () => number;
  #handle: FileHandle | undefined;
  #size = 0;
  #openedAt = 0;

  constructor(options: FileSinkOptions) {
    this.path = options.path;
    this.#maxBytes = options.maxBytes ?? 100 * 2 ** 20;
    this.#maxAgeMs = (options.maxAgeHours ?? 24) * 3_600_000;
    this.#keep = options.keep ?? 7;
    this.#now = options.now ?? Date.now;
  }

  async send(batch: readonly QueuedRecord[]): Promise<void> {
    const data = Buffer.from(batch.map((item) => `${item.line}\n`).join(''), 'utf8');
    let handle = this.#handle ?? (await this.#open());
    const old = this.#maxAgeMs > 0 && this.#now() - this.#openedAt >= this.#maxAgeMs;
    if (this.#size > 0 && (this.#size + data.length > this.#maxBytes || old)) {
      await this.#rotate();
      handle = await this.#open();
    }
    await handle.write(data);
    this.#size += data.length;
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
  }

  async #open(): Promise<FileHandle> {
    const handle = await open(this.path, 'a', 0o600);
    try {
      const info = await handle.stat();
      this.#size = info.size;
      // A file left by an earlier run keeps its age.
      this.#openedAt = info.size > 0 ? info.birthtimeMs || info.ctimeMs : this.#now();
    } catch (error) {
      await handle.close();
      throw error;
    }
    this.#handle = handle;
    return handle;
  }

  async #rotate(): Promise<void> {
    await this.close();
    if (this.#keep === 0) {
      await unlink(this.path);
      return;
    }
    await unlink(`${this.path}.${this.#keep}`).catch(ignoreMissing);
    for (let index = this.#keep - 1; index >= 1; index--) {
      await rename(`${this.path}.${index}`, `${this.path}.${index + 1}`).catch(ignoreMissing);
    }
    await rename(this.path, `${this.path}.1`);
  }
}

function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== 'ENOENT') throw error;
}

import { errorCode } from '@mqtt-warden/core';
import { identifyHash } from '@mqtt-warden/password';
import {
  type CredentialInput,
  type DeviceImportRow,
  RegistryError,
  type RegistryStore,
  type WriteContext,
} from '@mqtt-warden/registry';
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { AdminApiError } from './admin-api-error.js';
import { deviceInput } from './device-routes.js';
import { ImportRowSchema } from './schemas.js';

/** Rows written per `store.importDevices` call (one transaction each). */
export const IMPORT_BATCH_ROWS = 5000;
/** Longest accepted line; a longer one is a 413 (a device row is a few hundred bytes). */
export const IMPORT_LINE_BYTES = 65_536;
/** Refused rows listed in the response; `failed` counts them all. */
const LISTED_ERRORS = 1000;

const CSV_COLUMNS = new Set([
  'id',
  'username',
  'clientIds',
  'roles',
  'groups',
  'enabled',
  'notBefore',
  'expiresAt',
  'passwordHash',
]);
const LIST_COLUMNS = new Set(['clientIds', 'roles', 'groups']);

export interface ImportReport {
  created: number;
  updated: number;
  failed: number;
  errors: { line: number; code: string; message: string }[];
}

/**
 * `POST /devices:import`: streams JSON lines or CSV, validates each row, and writes valid rows in batches
 * of {@link IMPORT_BATCH_ROWS}. Not all-or-nothing: a row that is invalid, or that the store refuses (a
 * username another device has), is skipped and reported with its line; the other rows are written.
 * A body that cannot be read as a whole (wrong media type, bad CSV header, too large) writes nothing
 * after the point of failure and answers 4xx.
 */
export async function importDevices(
  store: RegistryStore,
  request: FastifyRequest,
  context: (step?: string) => WriteContext,
  maxBytes: number,
): Promise<ImportReport> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const csv = type === 'text/csv';
  if (!csv && type !== 'application/x-ndjson' && type !== 'application/jsonl') {
    throw new AdminApiError(
      415,
      'ERR_ADMIN_UNSUPPORTED_MEDIA_TYPE',
      'send the rows as Content-Type: application/x-ndjson (one JSON device per line) or text/csv',
    );
  }
  const body = request.body as AsyncIterable<Buffer> | undefined;
  if (!body || typeof (body as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] !== 'function') {
    throw new AdminApiError(400, 'ERR_INVALID_INPUT', 'the request has no body: send one row per line');
  }
  const report: ImportReport = { created: 0, updated: 0, failed: 0, errors: [] };
  const refuse = (line: number, code: string, message: string) => {
    report.failed++;
    if (report.errors.length < LISTED_ERRORS) report.errors.push({ line, code, message });
  };
  let batch: { line: number; row: DeviceImportRow }[] = [];
  let ids = new Set<string>();
  let batchNumber = 0;
  const write = async (rows: { line: number; row: DeviceImportRow }[], number: number) => {
    try {
      const result = await store.importDevices(
        rows.map((r) => r.row),
        context(`batch-${number}`),
      );
      report.created += result.created;
      report.updated += result.updated;
    } catch (error) {
      if (!(error instanceof RegistryError)) throw error;
      // One row spoiled the batch: write them one by one to tell which.
      for (const { line, row } of rows) {
        try {
          const result = await store.importDevices([row], context(`batch-${number}-line-${line}`));
          report.created += result.created;
          report.updated += result.updated;
        } catch (rowError) {
          if (!(rowError instanceof RegistryError)) throw rowError;
          refuse(line, rowError.code, rowError.message);
        }
      }
    }
  };
  // One batch is written while the next is parsed; batches still commit in order.
  let writing: Promise<void> = Promise.resolve();
  let failure: { error: unknown } | undefined;
  const flush = async () => {
    await writing;
    if (failure) throw failure.error;
    if (batch.length === 0) return;
    const rows = batch;
    batch = [];
    ids = new Set();
    writing = write(rows, ++batchNumber).catch((error: unknown) => {
      failure = { error };
    });
  };

  let header: string[] | undefined;
  try {
    await readRows(body);
  } finally {
    await writing;
  }
  if (failure) throw failure.error;
  return report;

  async function readRows(source: AsyncIterable<Buffer>) {
    for await (const { line, text } of lines(source, maxBytes)) {
      if (text.trim() === '') continue;
      let value: unknown;
      if (csv) {
        if (!header) {
          header = csvHeader(text);
          continue;
        }
        const cells = splitCsvLine(text);
        if (!cells || cells.length !== header.length) {
          const why = cells
            ? `${cells.length} fields where the header has ${header.length}`
            : 'unbalanced quotes (a field cannot span lines)';
          refuse(line, 'ERR_INVALID_INPUT', why);
          continue;
        }
        value = csvRow(header, cells);
      } else {
        try {
          value = JSON.parse(text);
        } catch {
          refuse(line, 'ERR_INVALID_INPUT', 'not a JSON object');
          continue;
        }
      }
      const parsed = ImportRowSchema.safeParse(value);
      if (!parsed.success) {
        refuse(
          line,
          'ERR_INVALID_INPUT',
          parsed.error.issues.map((i) => `${i.path.join('.') || 'row'}: ${i.message}`).join('; '),
        );
        continue;
      }
      let row: DeviceImportRow;
      try {
        row = importRow(parsed.data);
      } catch (error) {
        refuse(line, errorCode(error), 'passwordHash: not a hash format mqtt-warden verifies');
        continue;
      }
      if (ids.has(row.device.id)) await flush();
      ids.add(row.device.id);
      batch.push({ line, row });
      if (batch.length >= IMPORT_BATCH_ROWS) await flush();
    }
    if (csv && !header) throw new AdminApiError(400, 'ERR_INVALID_INPUT', 'the CSV has no header row');
    await flush();
  }
}

function importRow(row: z.output<typeof ImportRowSchema>): DeviceImportRow {
  const { credentials, ...device } = row;
  return {
    device: deviceInput(device),
    credentials: credentials?.map((c): CredentialInput => {
      const expiresAt = c.expiresAt === undefined ? undefined : new Date(c.expiresAt);
      switch (c.kind) {
        case 'password':
          identifyHash(c.hash); // throws for a format no verifier reads
          return { kind: 'password', hash: c.hash, expiresAt };
        case 'psk':
          return { kind: 'psk', identity: c.identity, key: Buffer.from(c.key, 'base64'), expiresAt };
        case 'sas':
          return { kind: 'sas', key: Buffer.from(c.key, 'base64'), expiresAt };
        default:
          return { ...c, expiresAt };
      }
    }),
  };
}

/** The body's lines (1-based numbers), decoded as UTF-8; throws 413 past `maxBytes` or a too long line. */
async function* lines(body: AsyncIterable<Buffer>, maxBytes: number) {
  let pending: Buffer = Buffer.alloc(0);
  let total = 0;
  let line = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > maxBytes) {
      throw new AdminApiError(
        413,
        'ERR_ADMIN_BODY_TOO_LARGE',
        `the import is larger than ${maxBytes} bytes: split it into several requests`,
      );
    }
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let start = 0;
    for (let end = pending.indexOf(0x0a); end >= 0; end = pending.indexOf(0x0a, start)) {
      line++;
      yield { line, text: pending.toString('utf8', start, end).replace(/\r$/, '') };
      start = end + 1;
    }
    pending = pending.subarray(start);
    if (pending.length > IMPORT_LINE_BYTES) {
      throw new AdminApiError(
        413,
        'ERR_ADMIN_BODY_TOO_LARGE',
        `line ${line + 1} is longer than ${IMPORT_LINE_BYTES} bytes`,
      );
    }
  }
  if (pending.length > 0) yield { line: line + 1, text: pending.toString('utf8').replace(/\r$/, '') };
}

function csvHeader(text: string): string[] {
  const cells = splitCsvLine(text.replace(/^\uFEFF/, ''));
  const unknown = cells?.filter((c) => !CSV_COLUMNS.has(c));
  if (!cells?.includes('id') || unknown === undefined || unknown.length > 0) {
    throw new AdminApiError(
      400,
      'ERR_INVALID_INPUT',
      `the CSV header must name an id column and only columns among ${[...CSV_COLUMNS].join(', ')}${
        unknown?.length ? ` (unknown: ${unknown.join(', ')})` : ''
      }`,
    );
  }
  return cells;
}

function csvRow(header: readonly string[], cells: readonly string[]): unknown {
  const row: Record<string, unknown> = {};
  for (const [index, column] of header.entries()) {
    const cell = cells[index]!;
    if (cell === '') continue;
    if (LIST_COLUMNS.has(column)) row[column] = cell.split(';').filter((item) => item !== '');
    else if (column === 'enabled') row.enabled = cell === 'true' ? true : cell === 'false' ? false : cell;
    else if (column === 'passwordHash') row.credentials = [{ kind: 'password', hash: cell }];
    else row[column] = cell;
  }
  return row;
}

/** RFC 4180 fields of one line ("" escapes a quote); undefined when a quoted field is not closed. */
export function splitCsvLine(text: string): string[] | undefined {
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const quote = text.indexOf('"', i);
        if (quote < 0) return undefined;
        value += text.slice(i, quote);
        if (text[quote + 1] === '"') {
          value += '"';
          i = quote + 2;
        } else {
          i = quote + 1;
          break;
        }
      }
      cells.push(value);
      if (i < text.length && text[i] !== ',') return undefined;
    } else {
      const comma = text.indexOf(',', i);
      const end = comma < 0 ? text.length : comma;
      cells.push(text.slice(i, end).trim());
      i = end;
    }
    if (i >= text.length) return cells;
    i++; // the comma
  }
}

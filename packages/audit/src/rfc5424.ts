import { hostname } from 'node:os';
import type { AuditRecord } from './audit-record.js';

/** Syslog facilities by name (RFC 5424 §6.2.1). */
export const FACILITIES = {
  kern: 0,
  user: 1,
  daemon: 3,
  auth: 4,
  syslog: 5,
  authpriv: 10,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
} as const;

export type Facility = keyof typeof FACILITIES;

const BOM = '\uFEFF';
/** Header fields are printable US-ASCII without spaces (RFC 5424 PRINTUSASCII). */
const printable = (value: string, max: number) => value.replace(/[^\x21-\x7e]/g, '_').slice(0, max) || '-';
const HOST = printable(hostname(), 255);

/**
 * One RFC 5424 message: alerts at severity warning (4), denials notice (5), allows informational (6);
 * MSGID is the record's kind; the message is the record as JSON, marked UTF-8 with a BOM.
 *
 * @example
 * ```ts
 * formatRfc5424(record, 'authpriv'); // '<85>1 2026-12-01T19:00:00.000Z host mqtt-warden 4242 authorize - \uFEFF{"time":…}'
 * ```
 */
export function formatRfc5424(
  record: AuditRecord,
  facility: Facility,
  line = JSON.stringify(record),
): string {
  const severity = record.kind === 'alert' ? 4 : record.decision === 'allow' ? 6 : 5;
  const pri = FACILITIES[facility] * 8 + severity;
  return `<${pri}>1 ${record.time} ${HOST} mqtt-warden ${process.pid} ${printable(record.kind, 32)} - ${BOM}${line}`;
}

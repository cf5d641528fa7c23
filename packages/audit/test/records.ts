import type { AuditEvent } from '@mqtt-warden/core';
import { type AuditRecord, auditRecordOf, type QueuedRecord } from '../src/index.js';

/** A refused publish by `principal` from `address`, at `time`. */
export function refusal(
  n: number,
  principal = 'dev1',
  address = '192.0.2.10',
  time = Date.now(),
): AuditEvent {
  return {
    type: 'authorize',
    time,
    durationMs: 0.01,
    allowed: false,
    reason: 'default',
    cached: false,
    principalId: principal,
    clientId: principal,
    username: principal,
    remoteAddress: address,
    action: 'publish',
    topic: `devices/other/${n}`,
  };
}

/** A login attempt. */
export function login(
  allowed: boolean,
  username: string,
  address: string,
  time: number,
  principal: string | undefined = allowed ? username : undefined,
): AuditEvent {
  return {
    type: 'authenticate',
    time,
    durationMs: 1,
    allowed,
    reason: allowed ? undefined : 'bad-credentials',
    authenticator: 'password',
    clientId: username,
    username,
    principalId: principal,
    remoteAddress: address,
  };
}

export function queued(record: AuditRecord): QueuedRecord {
  const line = JSON.stringify(record);
  return { record, line, bytes: Buffer.byteLength(line) };
}

export const records = (count: number): QueuedRecord[] =>
  Array.from({ length: count }, (_, n) => queued(auditRecordOf(refusal(n))));

/** Polls until `check` returns true (generous timeout: the machine is shared). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

import type { AuditEvent, RuleRef } from '@mqtt-warden/core';

/** What the defenses (lockout, rate limits) report: `lockout` when a key is locked, `rate-limited` when a request is slowed or refused. */
export interface DefenseEvent {
  readonly type: 'lockout' | 'rate-limited';
  /** Milliseconds since the epoch; now when absent. */
  readonly time?: number;
  readonly adapter?: string;
  /** What was limited: `username`, `username+address`, `client-id`, `address`, `principal`, `global`… */
  readonly scope?: string;
  readonly reason?: string;
  readonly principalId?: string;
  readonly username?: string;
  readonly clientId?: string;
  readonly remoteAddress?: string;
  /** Until when (ms since the epoch) the lock or limit holds. */
  readonly until?: number;
  /** Failures or requests counted when the defense acted. */
  readonly count?: number;
}

/**
 * An authorization request for a session the server does not know (no login through it, no valid
 * ticket): refused before any policy is asked, so it has no topic decision of its own.
 */
export interface UnknownSessionEvent {
  readonly type: 'unknown-session';
  readonly time?: number;
  readonly adapter?: string;
  readonly username?: string;
  readonly clientId?: string;
  readonly remoteAddress?: string;
}

/** Everything the trail takes: the guard's events, the defenses' events, unknown sessions. */
export type AuditInput = AuditEvent | DefenseEvent | UnknownSessionEvent;

/** What an alert says: the rule, the source, what happened, since when, how many, and what was done. */
export interface AlertDetail {
  readonly rule: string;
  /** The address, device or `fleet` the alert is about. */
  readonly source: string;
  readonly what: string;
  /** ISO time of the first event counted. */
  readonly since: string;
  readonly count: number;
  /** What the defenses did about it (`locked`, `limited`, `slowed`), when an event said so. */
  readonly taken?: string;
}

/**
 * One line of the audit trail (fields left undefined are not written). Built field by field from an allowlist, so a password, token, key or
 * ticket never reaches a sink, whatever the event it came from held.
 */
export interface AuditRecord {
  readonly time: string;
  readonly kind: 'authenticate' | 'authorize' | 'lockout' | 'rate-limited' | 'alert';
  readonly adapter?: string;
  readonly decision?: 'allow' | 'deny';
  readonly reason?: string;
  /** Where the deciding rule is written (`policy.yaml:12:7`), else its id. */
  readonly rule?: string;
  readonly ruleId?: string;
  readonly authenticator?: string;
  readonly principal?: string;
  readonly username?: string;
  readonly clientId?: string;
  readonly address?: string;
  readonly action?: string;
  readonly topic?: string;
  readonly durationMs?: number;
  /** Set on sampled authorization allows: the share of them that is recorded. */
  readonly sampleRate?: number;
  readonly scope?: string;
  readonly until?: string;
  readonly count?: number;
  readonly alert?: AlertDetail;
}

/** Longest string kept in a record; longer values (a 64 KiB topic) are cut, so a record stays small. */
export const MAX_FIELD_LENGTH = 512;

/**
 * The audit record of a guard or defense event, from an allowlist of fields.
 *
 * @example
 * ```ts
 * const guard = createGuard({ authenticators, authorizer, audit: (e) => console.log(auditRecordOf(e)) });
 * ```
 */
export function auditRecordOf(event: AuditInput, sampleRate?: number): AuditRecord {
  const time = new Date(event.time ?? Date.now()).toISOString();
  switch (event.type) {
    case 'authenticate':
      return {
        time,
        kind: 'authenticate',
        adapter: text(event.adapter),
        decision: event.allowed ? 'allow' : 'deny',
        reason: text(event.reason),
        ...ruleFields(event.rule),
        authenticator: text(event.authenticator),
        principal: text(event.principalId),
        username: text(event.username),
        clientId: text(event.clientId),
        address: text(event.remoteAddress),
        durationMs: round(event.durationMs),
      };
    case 'authorize':
      return {
        time,
        kind: 'authorize',
        adapter: text(event.adapter),
        decision: event.allowed ? 'allow' : 'deny',
        reason: text(event.reason),
        ...ruleFields(event.rule),
        principal: text(event.principalId),
        username: text(event.username),
        clientId: text(event.clientId),
        address: text(event.remoteAddress),
        action: text(event.action),
        topic: text(event.topic),
        durationMs: round(event.durationMs),
        sampleRate,
      };
    case 'unknown-session':
      return {
        time,
        kind: 'authorize',
        adapter: text(event.adapter),
        decision: 'deny',
        reason: 'unknown-session',
        username: text(event.username),
        clientId: text(event.clientId),
        address: text(event.remoteAddress),
      };
    default:
      return {
        time,
        kind: event.type === 'lockout' ? 'lockout' : 'rate-limited',
        adapter: text(event.adapter),
        decision: 'deny',
        reason: text(event.reason),
        scope: text(event.scope),
        principal: text(event.principalId),
        username: text(event.username),
        clientId: text(event.clientId),
        address: text(event.remoteAddress),
        until: typeof event.until === 'number' ? new Date(event.until).toISOString() : undefined,
        count: typeof event.count === 'number' ? event.count : undefined,
      };
  }
}

/** `file:line:column` of a rule when the policy knows it, else its id. */
function ruleFields(rule: RuleRef | undefined): { rule?: string; ruleId?: string } {
  if (!rule) return {};
  const at = rule.source;
  const where =
    at?.line !== undefined
      ? [at.file ?? 'policy', at.line, at.column].filter((part) => part !== undefined).join(':')
      : undefined;
  return { rule: text(where ?? rule.id), ruleId: text(rule.id) };
}

function text(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return value.length > MAX_FIELD_LENGTH ? `${value.slice(0, MAX_FIELD_LENGTH)}…` : value;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

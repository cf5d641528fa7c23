import type { DefenseEvent as AuditDefenseEvent } from '@mqtt-warden/audit';
import type { DefenseEvent } from '@mqtt-warden/defenses';

/**
 * A defense's event as an audit record. A lock being placed is a `lockout` (it raises the lockout alert);
 * an attempt answered by an existing lock, a rate limit or a shed verification is `rate-limited`, with the
 * reason saying which, so one lock raises one alert however many attempts it refuses. A refused reply held
 * by the slowdown is `rate-limited` with reason `slowed` (the deny itself is the guard's own record).
 */
export function defenseAuditEvent(event: DefenseEvent): AuditDefenseEvent {
  const placed = event.kind === 'lockout' && !event.refused;
  const slowed = event.kind === 'rate-limited' && !event.refused;
  return {
    type: placed ? 'lockout' : 'rate-limited',
    scope: event.key,
    reason: event.kind === 'lockout' ? (placed ? 'locked-out' : 'locked') : slowed ? 'slowed' : event.kind,
    username: event.key === 'user' ? event.subject : undefined,
    clientId: event.key === 'client' ? event.subject : undefined,
    principalId: event.key === 'principal' ? event.subject : undefined,
    remoteAddress: event.address,
    until: event.until,
  };
}

export { AlertEngine } from './alert-engine.js';
export { type AlertRules, DEFAULT_ALERT_RULES } from './alert-rules.js';
export {
  type AlertDetail,
  type AuditInput,
  type AuditRecord,
  auditRecordOf,
  type DefenseEvent,
  MAX_FIELD_LENGTH,
  type UnknownSessionEvent,
} from './audit-record.js';
export type { AuditSink, QueuedRecord } from './audit-sink.js';
export { type AuditTrail, type AuditTrailOptions, createAuditTrail } from './audit-trail.js';
export { FileSink, type FileSinkOptions } from './file-sink.js';
export { followTrail, matchesTrailFilter, type TrailFilter } from './follow-trail.js';
export { type AuditLogger, LogSink } from './log-sink.js';
export { networkOf } from './network-of.js';
export { PostgresSink, type PostgresSinkOptions } from './postgres-sink.js';
export { FACILITIES, type Facility, formatRfc5424 } from './rfc5424.js';
export { SinkQueue, type SinkQueueOptions } from './sink-queue.js';
export { StdoutSink } from './stdout-sink.js';
export { SyslogSink, type SyslogSinkOptions } from './syslog-sink.js';
export { WebhookSink, type WebhookSinkOptions } from './webhook-sink.js';

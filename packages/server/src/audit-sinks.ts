import { readFile } from 'node:fs/promises';
import {
  type AuditLogger,
  type AuditSink,
  FileSink,
  LogSink,
  PostgresSink,
  StdoutSink,
  SyslogSink,
  WebhookSink,
} from '@mqtt-warden/audit';
import type { ServerConfig } from './server-config.js';

/** The sinks of the `audit:` block, with their secrets revealed and CA files read. */
export async function createAuditSinks(
  audit: ServerConfig['audit'],
  logger: AuditLogger,
): Promise<AuditSink[]> {
  const sinks: AuditSink[] = [];
  for (const sink of audit.sinks) {
    if (sink.file) sinks.push(new FileSink(sink.file));
    else if (sink.stdout) sinks.push(new StdoutSink());
    else if (sink.log) sinks.push(new LogSink(logger, sink.log));
    else if (sink.syslog) {
      const { ca, ...rest } = sink.syslog;
      sinks.push(new SyslogSink({ ...rest, ca: ca === undefined ? undefined : await readFile(ca) }));
    } else if (sink.webhook) {
      const headers: Record<string, string> = {};
      for (const [name, secret] of Object.entries(sink.webhook.headers ?? {}))
        headers[name] = await secret.reveal();
      sinks.push(new WebhookSink({ ...sink.webhook, headers }));
    } else if (sink.postgres) {
      const { url, ...rest } = sink.postgres;
      sinks.push(new PostgresSink({ ...rest, url: await url.reveal() }));
    }
  }
  return sinks;
}

import { type AuditRecord, followTrail, matchesTrailFilter, type TrailFilter } from '@mqtt-warden/audit';
import { WardenError } from '@mqtt-warden/core';
import { loadServerConfig } from '../server-config.js';
import { parseCommandArgs } from './parse-command-args.js';

const HELP = `Usage: mqtt-warden audit tail --config FILE [--principal P] [--address A] [--decision allow|deny]
                         [--follow] [--json]

Prints the audit trail of the config's file sink (audit.sinks[].file), oldest first, keeping the records
that match every filter given: --principal matches a principal id, username or client id (and an alert
about it), --address a remote address (and an alert about it), --decision allow or deny (alerts count as
deny). --follow (-f) keeps printing records as they are written, across rotation, until interrupted.
--json prints each record as its JSON line.

Exit status: 0 done (or interrupted while following), 2 usage error, a config without a file sink, or
no trail file yet (without --follow).`;

/** `mqtt-warden audit tail`: prints (and follows) the JSON-lines audit trail with filters. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('audit', HELP, args, {
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      principal: { type: 'string' },
      address: { type: 'string' },
      decision: { type: 'string' },
      follow: { type: 'boolean', short: 'f' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  try {
    if (positionals.length !== 1 || positionals[0] !== 'tail') throw new Error('the subcommand is "tail"');
    if (values.config === undefined) throw new Error('--config FILE is required');
    if (values.decision !== undefined && values.decision !== 'allow' && values.decision !== 'deny') {
      throw new Error('--decision is allow or deny');
    }
  } catch (error) {
    console.error(`mqtt-warden audit: ${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  let path: string;
  try {
    const config = await loadServerConfig(values.config);
    const sink = config.audit.sinks.find((s) => s.file !== undefined)?.file;
    if (!sink) {
      throw new WardenError(
        'ERR_CONFIG_INVALID',
        `${values.config} has no file sink: add audit: { sinks: [ { file: { path: audit.jsonl } } ] }`,
      );
    }
    path = sink.path;
  } catch (error) {
    console.error(`mqtt-warden audit: ${error instanceof WardenError ? error.message : String(error)}`);
    return 2;
  }
  const filter: TrailFilter = {
    principal: values.principal,
    address: values.address,
    decision: values.decision as TrailFilter['decision'],
  };
  const stop = new AbortController();
  const interrupt = () => stop.abort();
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    for await (const line of followTrail(path, { follow: values.follow === true, signal: stop.signal })) {
      let record: AuditRecord;
      try {
        record = JSON.parse(line);
      } catch {
        continue;
      }
      if (!matchesTrailFilter(record, filter)) continue;
      process.stdout.write(`${values.json ? line : describeRecord(record)}\n`);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    console.error(
      code === 'ENOENT'
        ? `mqtt-warden audit: no trail at ${path} yet (--follow waits for it)`
        : `mqtt-warden audit: cannot read ${path} (${code ?? String(error)})`,
    );
    return 2;
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
  return 0;
}

/**
 * One record as a line for people. Client-chosen values (usernames, client ids, topics) are printed with
 * control characters escaped, so none can forge a line or send escape sequences to the terminal.
 */
export function describeRecord(record: AuditRecord): string {
  return describe(record).replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters to escape
    /[\x00-\x1f\x7f-\x9f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

function describe(record: AuditRecord): string {
  if (record.alert) {
    const { rule, source, what, since, count, taken } = record.alert;
    return `${record.time} ALERT ${rule} ${source}: ${what} (${count} since ${since}${taken ? `, ${taken}` : ''})`;
  }
  const fields = [
    record.time,
    (record.decision ?? '-').toUpperCase(),
    record.kind,
    record.adapter,
    record.action && record.topic !== undefined ? `${record.action} ${record.topic}` : record.action,
    record.principal !== undefined ? `principal=${record.principal}` : undefined,
    record.username !== undefined ? `username=${record.username}` : undefined,
    record.clientId !== undefined ? `client=${record.clientId}` : undefined,
    record.address !== undefined ? `address=${record.address}` : undefined,
    record.reason !== undefined ? `reason=${record.reason}` : undefined,
    record.rule !== undefined ? `rule=${record.rule}` : undefined,
  ];
  return fields.filter((field) => field !== undefined).join(' ');
}

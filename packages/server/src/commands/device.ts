import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { AdminClient, AdminClientError } from '../admin-client.js';
import { type CommandArgs, parseCommandArgs } from './parse-command-args.js';

const HELP = `Usage: mqtt-warden device VERB [ARGS] [--url URL] [--token TOKEN] [--json]

Verbs (through the admin API, see docs/admin-api.md):
  add ID [--username U] [--password P | --generate-password] [--role R]... [--group G]... [--client-id C]...
                        register a device; its client id is bound to ID unless --client-id says otherwise;
                        --generate-password prints the generated password once
  disable ID            no credential of the device authenticates any more
  enable ID
  revoke-credentials ID revoke every credential of the device now
  list [--prefix P] [--role R] [--group G] [--enabled true|false]
  import FILE           create or replace devices from a JSON lines (.jsonl, .ndjson) or CSV (.csv) file,
                        streamed; progress on stderr; rows the API refuses are listed with their line

Options:
  --url URL       the admin listener, e.g. http://127.0.0.1:9443 (default: MQTT_WARDEN_ADMIN_URL)
  --token TOKEN   an admin token, mwa_... (default: MQTT_WARDEN_ADMIN_TOKEN; prefer the variable: the
                  command line is visible to other users of the machine)
  --json          print the API's JSON answer

Exit status: 0 done, 1 the API refused (its message is printed) or some import rows failed, 2 usage error.`;

const options = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  username: { type: 'string' },
  password: { type: 'string' },
  'generate-password': { type: 'boolean' },
  role: { type: 'string', multiple: true },
  group: { type: 'string', multiple: true },
  'client-id': { type: 'string', multiple: true },
  prefix: { type: 'string' },
  enabled: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = CommandArgs<{ options: typeof options }>['values'];

interface DeviceJson {
  id: string;
  username: string;
  enabled: boolean;
  roles: string[];
  clientIds: string[];
}

class UsageError extends Error {}

/** `mqtt-warden device VERB ...` → 0 done, 1 refused by the API, 2 usage error. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('device', HELP, args, { options, allowPositionals: true });
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const [verb, ...rest] = positionals;
  try {
    const url = values.url ?? process.env.MQTT_WARDEN_ADMIN_URL;
    const token = values.token ?? process.env.MQTT_WARDEN_ADMIN_TOKEN;
    if (!url) throw new UsageError('give the admin API address: --url URL or MQTT_WARDEN_ADMIN_URL');
    if (!token) throw new UsageError('give an admin token: MQTT_WARDEN_ADMIN_TOKEN or --token');
    const client = new AdminClient(url, token);
    switch (verb) {
      case 'add':
        return await add(client, one(rest), values);
      case 'disable':
      case 'enable':
        return print(
          values,
          await client.call<DeviceJson>('POST', `/devices/${path(one(rest))}:${verb}`, {}),
          (d) => `${d.id}: ${d.enabled ? 'enabled' : 'disabled'}`,
        );
      case 'revoke-credentials': {
        const id = one(rest);
        const result = await client.call<{ revoked: number }>(
          'POST',
          `/devices/${path(id)}/credentials:revoke-all`,
          {},
        );
        return print(values, result, (r) => `${id}: ${r.revoked} credential(s) revoked`);
      }
      case 'list':
        if (rest.length > 0) throw new UsageError('list takes no arguments');
        return await list(client, values);
      case 'import':
        return await importFile(client, one(rest), values);
      default:
        throw new UsageError(verb === undefined ? 'give a verb' : `unknown verb "${verb}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) return usage(error.message);
    if (error instanceof AdminClientError) {
      console.error(`mqtt-warden device: ${error.message} (${error.code})`);
      return 1;
    }
    throw error;
  }
}

function one(rest: string[]): string {
  if (rest.length !== 1) throw new UsageError('give exactly one device ID');
  return rest[0]!;
}

const path = (id: string) => encodeURIComponent(id);

function print<T>(values: Values, result: T, text: (result: T) => string): number {
  console.log(values.json ? JSON.stringify(result, null, 2) : text(result));
  return 0;
}

async function add(client: AdminClient, id: string, values: Values): Promise<number> {
  if (values.password !== undefined && values['generate-password']) {
    throw new UsageError('give either --password or --generate-password');
  }
  // A request whose answer was lost is sent again with this key (AdminClient), so nothing is written twice.
  const idempotencyKey = randomUUID();
  const device = await client.call<DeviceJson>(
    'POST',
    '/devices',
    {
      id,
      username: values.username,
      roles: values.role,
      groups: values.group,
      clientIds: values['client-id'],
    },
    { idempotencyKey },
  );
  let credential: { credential: { id: string }; secret?: string } | undefined;
  if (values.password !== undefined || values['generate-password']) {
    try {
      credential = await client.call(
        'POST',
        `/devices/${path(id)}/credentials`,
        {
          kind: 'password',
          ...(values['generate-password'] ? { generate: true } : { password: values.password }),
        },
        { idempotencyKey },
      );
    } catch (error) {
      // A refused password (too short, common) leaves nothing behind: the device goes too.
      await client.call('DELETE', `/devices/${path(id)}`).catch(() => {
        console.error(`mqtt-warden device: device ${id} was added without a password; delete or fix it`);
      });
      throw error;
    }
  }
  if (values.json) {
    console.log(
      JSON.stringify({ device, credential: credential?.credential, password: credential?.secret }, null, 2),
    );
  } else {
    console.log(
      `added device ${device.id} (username ${device.username}, client ids ${device.clientIds.join(', ')})`,
    );
    if (credential?.secret !== undefined)
      console.log(`generated password (shown once): ${credential.secret}`);
  }
  return 0;
}

async function list(client: AdminClient, values: Values): Promise<number> {
  if (values.enabled !== undefined && values.enabled !== 'true' && values.enabled !== 'false') {
    throw new UsageError('--enabled is true or false');
  }
  const query = new URLSearchParams();
  if (values.prefix) query.set('idPrefix', values.prefix);
  if (values.role?.[0]) query.set('role', values.role[0]);
  if (values.group?.[0]) query.set('group', values.group[0]);
  if (values.enabled) query.set('enabled', values.enabled);
  query.set('limit', '1000');
  const devices: DeviceJson[] = [];
  for (let after: string | undefined; ; ) {
    if (after !== undefined) query.set('after', after);
    const page = await client.call<{ devices: DeviceJson[]; next?: string }>('GET', `/devices?${query}`);
    if (values.json) devices.push(...page.devices);
    else
      for (const d of page.devices)
        console.log(`${d.id}\t${d.username}\t${d.enabled ? 'enabled' : 'disabled'}\t${d.roles.join(',')}`);
    if (page.next === undefined) break;
    after = page.next;
  }
  if (values.json) console.log(JSON.stringify(devices, null, 2));
  return 0;
}

async function importFile(client: AdminClient, file: string, values: Values): Promise<number> {
  const size = (await stat(file).catch(() => undefined))?.size;
  if (size === undefined) throw new UsageError(`cannot read ${file}`);
  let sent = 0;
  let shown = 0;
  const progress = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      sent += chunk.length;
      if (sent - shown >= 1024 * 1024 || sent === size) {
        shown = sent;
        process.stderr.write(
          `\rsent ${(sent / 1048576).toFixed(1)} of ${(size / 1048576).toFixed(1)} MiB (${size === 0 ? 100 : Math.floor((sent / size) * 100)}%)`,
        );
      }
      done(null, chunk);
    },
  });
  const body = Readable.toWeb(createReadStream(file).pipe(progress)) as ReadableStream;
  const report = await client.call<{
    created: number;
    updated: number;
    failed: number;
    errors: { line: number; code: string; message: string }[];
  }>('POST', '/devices:import', body, {
    contentType: /\.csv$/i.test(file) ? 'text/csv' : 'application/x-ndjson',
  });
  process.stderr.write('\n');
  if (values.json) console.log(JSON.stringify(report, null, 2));
  else {
    console.log(`${report.created} created, ${report.updated} updated, ${report.failed} refused`);
    for (const e of report.errors) console.log(`${file}:${e.line}: ${e.message} (${e.code})`);
    if (report.errors.length < report.failed)
      console.log(`... and ${report.failed - report.errors.length} more`);
  }
  return report.failed > 0 ? 1 : 0;
}

function usage(message: string): number {
  console.error(`mqtt-warden device: ${message}\n\n${HELP}`);
  return 2;
}

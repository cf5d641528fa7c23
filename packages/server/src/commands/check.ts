import { isIP } from 'node:net';
import type { QoS } from '@mqtt-warden/core';
import { loadPolicy } from '@mqtt-warden/policy';
import { check, type What, type Who } from '@mqtt-warden/testing';
import { parseCommandArgs } from './parse-command-args.js';
import { describeLoadError } from './validate.js';

const HELP = `Usage: mqtt-warden check --policy POLICY [who] (--publish TOPIC [--qos N] [--retain]
                          | --subscribe FILTER [--qos N] | --receive TOPIC [--qos N] [--retain]
                          | --connect) [--json]

Decides one request and explains it: the principal's roles, the rules that relate to the topic
(with file:line) and the one that decided.

Who:
  --username U          --client-id C        --id ID (default: username, else client id)
  --method M (default password)              --role R, --group G (repeatable)
  --attr KEY=VALUE (repeatable; a key given twice becomes a list, e.g. scopes)
  --tls                 --from ADDRESS (client IP, for "from" conditions)

Exit status: 0 allow, 1 deny, 2 usage or policy error.`;

const options = {
  policy: { type: 'string', short: 'p' },
  username: { type: 'string', short: 'u' },
  'client-id': { type: 'string', short: 'c' },
  id: { type: 'string' },
  method: { type: 'string' },
  role: { type: 'string', multiple: true },
  group: { type: 'string', multiple: true },
  attr: { type: 'string', multiple: true },
  tls: { type: 'boolean' },
  from: { type: 'string' },
  publish: { type: 'string' },
  subscribe: { type: 'string' },
  receive: { type: 'string' },
  connect: { type: 'boolean' },
  qos: { type: 'string' },
  retain: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `mqtt-warden check …` → 0 allow, 1 deny, 2 usage or policy error. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('check', HELP, args, { options });
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  if (!values.policy) return usage('--policy is required');
  const actions = (['publish', 'subscribe', 'receive', 'connect'] as const).filter(
    (a) => values[a] !== undefined,
  );
  if (actions.length !== 1) return usage('give exactly one of --publish, --subscribe, --receive, --connect');
  // A deny rule "from" a network must not be skipped because the address could not be read.
  if (values.from !== undefined && isIP(values.from) === 0) {
    return usage(`--from expects an IPv4 or IPv6 address, got "${values.from}"`);
  }
  let qos: QoS | undefined;
  if (values.qos !== undefined) {
    if (!/^[012]$/.test(values.qos)) return usage('--qos must be 0, 1 or 2');
    qos = Number(values.qos) as QoS;
  }
  const attributes: Record<string, string | string[]> = {};
  for (const pair of values.attr ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return usage(`--attr expects KEY=VALUE, got "${pair}"`);
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const previous = attributes[key];
    attributes[key] =
      previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  const who: Who = {
    id: values.id,
    username: values.username,
    clientId: values['client-id'],
    method: values.method,
    roles: values.role,
    groups: values.group,
    attributes,
    tls: values.tls,
    remoteAddress: values.from,
  };
  const what: What = values.connect
    ? 'connect'
    : values.publish !== undefined
      ? { publish: values.publish, qos, retain: values.retain }
      : values.subscribe !== undefined
        ? { subscribe: values.subscribe, qos }
        : { receive: values.receive!, qos, retain: values.retain };

  let policy: Awaited<ReturnType<typeof loadPolicy>>;
  try {
    policy = await loadPolicy(values.policy);
  } catch (error) {
    console.error(describeLoadError(error, values.policy));
    return 2;
  }
  const result = check(policy, who, what);
  if (values.json) {
    console.log(
      JSON.stringify(
        { allowed: result.allowed, decision: result.decision, explanation: result.explanation },
        null,
        2,
      ),
    );
  } else {
    console.log(result.text);
  }
  return result.allowed ? 0 : 1;
}

function usage(message: string): number {
  console.error(`mqtt-warden check: ${message}\n\n${HELP}`);
  return 2;
}

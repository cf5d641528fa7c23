// What the server bench runs against: a users file of 10k principals, a policy that gives each one its own
// subtree, the warden config, and the three authorization routes with their requests and answers.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PRINCIPALS = 10_000;

/** Writes users.yaml, policy.yaml and warden.yaml into `dir`; returns the config's path. */
export async function writeWardenFiles(dir) {
  const { hashPassword } = await import('../../packages/password/dist/index.js');
  const hash = await hashPassword('bench-password');
  const users = ['users:'];
  for (let i = 0; i < PRINCIPALS; i++) users.push(`  u${i}:\n    hash: ${hash}\n    roles: [device]`);
  writeFileSync(join(dir, 'users.yaml'), `${users.join('\n')}\n`);
  writeFileSync(
    join(dir, 'policy.yaml'),
    "version: 1\nbindings: [{ when: { username: 'u*' }, roles: [device] }]\nroles:\n  device:\n    rules:\n      - { effect: allow, actions: all, topics: 'devices/${clientid}/#' }\n      - { effect: deny, actions: publish, topics: 'devices/${clientid}/admin/#' }\n",
  );
  writeFileSync(join(dir, 'warden.yaml'), wardenConfig('users.yaml'));
  return join(dir, 'warden.yaml');
}

/**
 * The server config of the bench; `cache: false` turns off the password verification cache (`{ ttlMs }`
 * sets its lifetime), `onError: 'ignore'` tells a shed login (no verification turn in time) from a
 * refused one, `defenses` replaces the defenses block (off by default).
 */
export function wardenConfig(usersFile, { cache = true, onError = 'deny', defenses } = {}) {
  const cacheOption =
    cache === true ? '' : `, cache: ${cache === false ? 'false' : `{ ttlMs: ${cache.ttlMs} }`}`;
  return `listen: { host: 127.0.0.1, port: 0 }
policy: { file: policy.yaml, watch: false }
authenticators: [{ type: password, file: ${usersFile}${cacheOption} }]
adapters: { emqx: { onError: ${onError} }, goAuth: { responseMode: json } }
# Warm caches: the three routes ask 112,500 distinct checks in all (EMQX's carry a QoS, go-auth's and
# RabbitMQ's mostly the same ones), more than the default 100,000 decisions hold.
cache: { decisions: { max: 200000, maxBytes: 33554432 } }
${
  defenses === undefined
    ? '# Raw throughput: the defenses (bench/defenses) would rate-limit this load from one address.\ndefenses: { enabled: false }'
    : `defenses: ${defenses}`
}
`;
}

/**
 * One check as the broker sends it. No logins happen: a password-only chain proves usernames, so the
 * server rebuilds each session from the users file (packages/server README, "Sessions").
 * @typedef {{ username: string, clientid: string, topic: string, subscribe: boolean }} Check
 */

/** The bench's three authorization routes: how a check is encoded and how an allow is recognised. */
export const ROUTES = [
  {
    path: '/emqx/authz',
    type: 'application/json',
    allowBody: '{"result":"allow"}',
    encode: (c) =>
      JSON.stringify({
        username: c.username,
        clientid: c.clientid,
        topic: c.topic,
        action: c.subscribe ? 'subscribe' : 'publish',
        qos: '1',
        retain: 'false',
      }),
    allowed: (body) => JSON.parse(body).result === 'allow',
  },
  {
    path: '/mosquitto/acl',
    type: 'application/json',
    allowBody: '{"ok":true,"error":""}',
    // go-auth's acc: 2 write (publish), 4 subscribe.
    encode: (c) =>
      JSON.stringify({
        acc: c.subscribe ? 4 : 2,
        clientid: c.clientid,
        topic: c.topic,
        username: c.username,
      }),
    allowed: (body) => JSON.parse(body).ok === true,
  },
  {
    path: '/rabbitmq/topic',
    type: 'application/x-www-form-urlencoded',
    allowBody: 'allow',
    // As rabbitmq_mqtt asks on topic_path: routing key = the MQTT topic with `/` → `.` and `+` → `*`.
    encode: (c) =>
      new URLSearchParams({
        username: c.username,
        vhost: '/',
        resource: 'topic',
        name: 'amq.topic',
        permission: c.subscribe ? 'read' : 'write',
        tags: '',
        routing_key: c.topic.replaceAll('/', '.').replaceAll('+', '*'),
        'variable_map.client_id': c.clientid,
        'variable_map.username': c.username,
        'variable_map.vhost': '/',
      }).toString(),
    allowed: (body) => body.trim() === 'allow',
  },
];

/** allowedChecks(devices) repeats after this many checks: lcm(devices, 4 actions, 7 topics). */
export function checkCycle(devices = PRINCIPALS) {
  const gcd = (a, b) => (b === 0 ? a : gcd(b, a % b));
  return (devices * 28) / gcd(devices, 28);
}

/** allowedChecks() repeats after this many checks: lcm(10k principals, 4 actions, 7 topics). */
export const CHECK_CYCLE = checkCycle();

/**
 * The timed checks: all allowed, `devices` principals (the first of the users file) in turn, topics
 * varying, one in four a subscription. Fewer devices make a smaller working set of sessions and decisions.
 * @returns {() => Check}
 */
export function allowedChecks(devices = PRINCIPALS) {
  if (!(devices >= 1 && devices <= PRINCIPALS)) throw new Error(`devices must be 1..${PRINCIPALS}`);
  let n = 0;
  return () => {
    const i = n % devices;
    const subscribe = n % 4 === 3;
    const topic = subscribe ? `devices/u${i}/t/+` : `devices/u${i}/t/${n % 7}`;
    n++;
    // The client id is the username, as the policy's default client-id rule wants at connect.
    return { username: `u${i}`, clientid: `u${i}`, topic, subscribe };
  };
}

/** Checks with the answer the policy must give: own topics allowed; admin, others' topics, `#`, strangers denied. */
export function sampleChecks(count = 50) {
  const checks = [];
  const next = allowedChecks();
  for (let k = 0; k < count; k++) {
    const i = (k * 7919) % PRINCIPALS;
    const own = { username: `u${i}`, clientid: `u${i}`, subscribe: false };
    checks.push({ check: next(), allow: true });
    checks.push({ check: { ...own, topic: `devices/u${i}/admin/reboot` }, allow: false });
    checks.push({ check: { ...own, topic: `devices/u${(i + 1) % PRINCIPALS}/t/1` }, allow: false });
    checks.push({ check: { ...own, topic: 'devices/#', subscribe: true }, allow: false });
    checks.push({
      check: { ...own, username: `x${i}`, clientid: `x${i}`, topic: `devices/x${i}/t/1` },
      allow: false,
    });
  }
  return checks;
}

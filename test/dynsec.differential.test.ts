/**
 * `mqtt-warden import dynsec` against Mosquitto 2.0's dynamic-security plugin: random dynsec JSON files
 * (roles with prioritised ACLs, clients, groups, an anonymous group, default access, disabled clients),
 * the broker started with the plugin on each, every delivery, publish, subscription and connect observed
 * and compared with the imported policy and users file. Deliberate differences are counted.
 *
 * DYNSEC_DIFF_CASES (default 60) and DYNSEC_DIFF_SEED (default 7) choose the run; failures print the seed.
 */
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Decision } from '@mqtt-warden/core';
import { importDynsec } from '@mqtt-warden/migrate';
import { parseUsersFile, verifyPassword } from '@mqtt-warden/password';
import { parsePolicy } from '@mqtt-warden/policy';
import { describe, expect, it } from 'vitest';
import {
  OBSERVER,
  type Observed,
  observeBroker,
  PASSWORD,
  passwordPrincipal,
  random,
  type TestClient,
} from './mosquitto-differential.js';

const CASES = Number(process.env.DYNSEC_DIFF_CASES ?? 60);
const SEED = Number(process.env.DYNSEC_DIFF_SEED ?? 7);
const PARALLEL = 4;
const PLUGIN = [
  '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so',
  '/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so',
  '/usr/lib/mosquitto_dynamic_security.so',
].find(existsSync);

const USERS = ['u1', 'u2', 'u3', 'u4', 'u5'];
const CLIENT_IDS = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8'];
const LEVELS = ['a', 'b', 'c', ''];
const TYPES = ['publishClientSend', 'publishClientReceive', 'subscribePattern', 'subscribeLiteral'];

interface DynsecCase {
  readonly seed: number;
  readonly json: string;
  readonly clients: readonly TestClient[];
  readonly topics: readonly string[];
}

function credentials(secret: string) {
  const salt = randomBytes(12);
  return {
    password: pbkdf2Sync(secret, salt, 101, 64, 'sha512').toString('base64'),
    salt: salt.toString('base64'),
    iterations: 101,
  };
}

function generate(seed: number): DynsecCase {
  const r = random(seed);
  const chance = (p: number) => r() < p;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)]!;
  const int = (min: number, max: number) => min + Math.floor(r() * (max - min + 1));
  const priority = () => (chance(0.4) ? undefined : int(-2, 2));
  const filter = () => {
    const n = int(1, 3);
    const levels = Array.from({ length: n }, (_, i) => {
      const x = r();
      return i === n - 1 && x < 0.2 ? '#' : x < 0.4 ? '+' : pick(LEVELS);
    });
    if (chance(0.15)) levels.unshift('$d');
    const topic = levels.join('/');
    return topic === '' ? 'a' : topic;
  };
  const roleNames = ['r1', 'r2', 'r3', 'r4'].slice(0, int(1, 4));
  const roles = roleNames.map((rolename) => ({
    rolename,
    acls: Array.from({ length: int(0, 5) }, () => ({
      acltype: pick(TYPES),
      topic: filter(),
      allow: chance(0.6),
      ...(chance(0.6) && { priority: int(-2, 2) }),
    })),
  }));
  roles.push({
    rolename: OBSERVER,
    acls: ['#', '$d/#'].map((topic) => ({ acltype: 'publishClientSend', topic, allow: true, priority: 99 })),
  });
  const link = (rolename: string) => ({
    rolename,
    ...(priority() !== undefined && { priority: int(-2, 2) }),
  });
  const dynsecClients = USERS.filter(() => chance(0.8)).map((username) => ({
    username,
    // The plugin admits a client with a clientid only under that client id.
    ...(chance(0.25) && { clientid: pick(CLIENT_IDS) }),
    ...credentials(PASSWORD),
    ...(chance(0.1) && { disabled: true }),
    roles: roleNames.filter(() => chance(0.4)).map(link),
  }));
  dynsecClients.push({ username: OBSERVER, ...credentials(PASSWORD), roles: [{ rolename: OBSERVER }] });
  const groups = ['g1', 'g2', 'g3'].slice(0, int(0, 3)).map((groupname) => ({
    groupname,
    roles: roleNames.filter(() => chance(0.4)).map(link),
    clients: USERS.filter(() => chance(0.4)).map((username) => ({
      username,
      ...(chance(0.5) && { priority: int(-2, 2) }),
    })),
  }));
  const defaults = Object.fromEntries(
    ['publishClientSend', 'publishClientReceive', 'subscribe', 'unsubscribe']
      .filter(() => chance(0.8))
      .map((key) => [key, chance(0.5)]),
  );
  const json = JSON.stringify({
    clients: dynsecClients,
    groups,
    roles,
    ...(groups.length > 0 && chance(0.6) && { anonymousGroup: pick(groups).groupname }),
    defaultACLAccess: defaults,
  });

  const ids = CLIENT_IDS;
  const clients: TestClient[] = USERS.filter(() => chance(0.8)).map((username, i) => ({
    clientId: ids[i]!,
    username,
    password: chance(0.1) ? 'wrong' : PASSWORD,
  }));
  clients.push({ clientId: 'anon1' }, { clientId: 'anon2' });
  const topics = new Set<string>();
  while (topics.size < 16) {
    const levels = Array.from({ length: int(1, 3) }, () => pick(LEVELS));
    if (chance(0.2)) levels[0] = '$d';
    const topic = levels.join('/');
    if (topic !== '') topics.add(topic);
  }
  return { seed, json, clients, topics: [...topics] };
}

interface Tally {
  cases: number;
  requests: number;
  agreed: number;
  allowed: Record<string, number>;
  unobservable: number;
  deliberate: Record<string, number>;
  unexpected: string[];
}

describe.skipIf(PLUGIN === undefined)(
  'import dynsec decides as the dynamic-security plugin (differential)',
  () => {
    it(
      `agrees on deliveries, publishes, subscriptions and connects of ${CASES} random dynsec files`,
      async () => {
        const tally: Tally = {
          cases: 0,
          requests: 0,
          agreed: 0,
          allowed: {},
          unobservable: 0,
          deliberate: {},
          unexpected: [],
        };
        for (let i = 0; i < CASES && tally.unexpected.length === 0; i += PARALLEL) {
          const batch = Array.from({ length: Math.min(PARALLEL, CASES - i) }, (_, k) =>
            generate(SEED + i + k),
          );
          const observed = await Promise.all(
            batch.map((c) =>
              observeBroker({
                files: { 'dynsec.json': c.json },
                config: (dir) => [`plugin ${PLUGIN}`, `plugin_opt_config_file ${join(dir, 'dynsec.json')}`],
                clients: c.clients,
                topics: c.topics,
                filters: ['#', '$d/#', ...c.topics],
              }),
            ),
          );
          for (const [k, c] of batch.entries()) await compare(c, observed[k]!, tally);
        }
        console.log(
          `dynsec differential: seeds ${SEED}..${SEED + tally.cases - 1}: ${tally.cases} files, ${tally.requests} requests, ` +
            `${tally.agreed} agreed (plugin allowed ${JSON.stringify(tally.allowed)}), ${tally.unobservable} deliveries not observable (no granted subscription), ` +
            `deliberate differences ${JSON.stringify(tally.deliberate)}, unexpected ${tally.unexpected.length}`,
        );
        expect(tally.unexpected, tally.unexpected.slice(0, 20).join('\n')).toEqual([]);
        expect(tally.allowed.publish).toBeGreaterThan(CASES);
        expect(tally.allowed.receive).toBeGreaterThan(CASES);
        expect(tally.allowed.subscribe).toBeGreaterThan(CASES);
      },
      Math.max(600_000, CASES * 3_000),
    );
  },
);

async function compare(c: DynsecCase, observed: Observed, tally: Tally): Promise<void> {
  const imported = importDynsec(c.json, { file: 'dynsec.json' });
  const policy = parsePolicy(imported.yaml);
  const users = new Map(parseUsersFile(imported.usersYaml, 'yaml').map((u) => [u.username, u]));
  tally.cases++;
  const fail = (what: string) => tally.unexpected.push(`seed ${c.seed}: ${what}\n${c.json}`);
  const count = (kind: string) => {
    tally.deliberate[kind] = (tally.deliberate[kind] ?? 0) + 1;
  };
  for (const client of c.clients) {
    const who = `${client.username ?? 'anonymous'} (${client.clientId})`;
    let mayConnect = true;
    if (client.username !== undefined) {
      const user = users.get(client.username);
      mayConnect =
        user !== undefined && !user.disabled && (await verifyPassword(client.password ?? '', user.hash));
      // Then the policy's client-id binding (imported from the client's clientid).
      mayConnect &&= policy.admit(passwordPrincipal(client)).allowed;
    }
    tally.requests++;
    const didConnect = observed.connected.get(client.clientId);
    if (didConnect !== mayConnect) {
      fail(`${who}: connect ${didConnect ? 'accepted' : 'refused'} by Mosquitto, expected ${mayConnect}`);
      continue;
    }
    tally.agreed++;
    if (!didConnect) continue;
    const principal = passwordPrincipal(client);
    const subscribed = observed.subscribed.get(client.clientId)!;
    const received = observed.received.get(client.clientId)!;
    const published = observed.published.get(client.clientId)!;
    const agree = (action: string, mosquitto: boolean, ours: boolean, what: string, deliberate?: string) => {
      tally.requests++;
      if (mosquitto) tally.allowed[action] = (tally.allowed[action] ?? 0) + 1;
      if (mosquitto === ours) tally.agreed++;
      else if (deliberate) count(deliberate);
      else fail(`${who}: ${action} ${JSON.stringify(what)}: plugin ${mosquitto}, policy ${ours}`);
    };
    // defaultACLAccess true: the plugin allows every topic but $CONTROL; the policy "#" and "$SYS/#".
    const dollarDefault = (topic: string, decision: Decision) =>
      topic.startsWith('$') && decision.reason === 'default'
        ? 'defaultACLAccess true on a "$" topic'
        : undefined;
    for (const [filter, granted] of subscribed) {
      const decision = policy.authorize(principal, {
        action: 'subscribe',
        topic: filter,
        deliveryChecked: true,
      });
      const deliberate = dollarDefault(filter, decision) ?? subscribeDifference(filter, decision.rule?.topic);
      agree('subscribe', granted, decision.allowed, filter, deliberate);
    }
    for (const topic of c.topics) {
      const publish = policy.authorize(principal, { action: 'publish', topic });
      agree('publish', published.get(topic)!, publish.allowed, topic, dollarDefault(topic, publish));
      const observable =
        subscribed.get(topic) === true ||
        (topic.startsWith('$d')
          ? topic.split('/')[0] === '$d' && subscribed.get('$d/#') === true
          : subscribed.get('#') === true);
      if (!observable) {
        tally.unobservable++;
        continue;
      }
      const receive = policy.authorize(principal, { action: 'receive', topic });
      agree('receive', received.has(topic), receive.allowed, topic, dollarDefault(topic, receive));
    }
  }
}

/**
 * The documented subscription differences: a deny that overlaps without covering refuses here, a
 * subscribeLiteral with wildcards is a filter here, and Mosquitto 2.0's subscribePattern "+" and "#"
 * matched "$" levels.
 */
function subscribeDifference(filter: string, ruleTopic: string | undefined): string | undefined {
  if (filter.startsWith('$'))
    return 'subscription to a "$" filter (2.0 subscribePattern "+"/"#" ignore the "$" rule)';
  if (/(^|\/)[+#](\/|$)/.test(filter) || (ruleTopic && /(^|\/)[+#](\/|$)/.test(ruleTopic))) {
    return "subscription with wildcards (coverage/overlap vs the plugin's literal and pattern checks)";
  }
  return undefined;
}

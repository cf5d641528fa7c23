/**
 * Differential testing against a real Mosquitto 2.0: random acl_files and password_files (seeded), the
 * broker started on each, and what it delivers and refuses observed with MQTT.js.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Principal } from '@mqtt-warden/core';
import mqtt, { type MqttClient } from 'mqtt';

export const MOSQUITTO = '/usr/sbin/mosquitto';
export const PASSWORD = 'pw';
/** A user the harness adds to every acl_file it runs, allowed to publish every test topic. */
export const OBSERVER = '__observer';

export interface TestClient {
  readonly clientId: string;
  readonly username?: string;
  readonly password?: string;
}

/** The principal mqtt-warden's password authenticator proves for a client the broker let in (anonymous: no username). */
export function passwordPrincipal(client: TestClient): Principal {
  return {
    id: client.username ?? client.clientId,
    clientId: client.clientId,
    ...(client.username !== undefined && { username: client.username }),
    method: 'password',
    roles: [],
    attributes: {},
  };
}

/** One generated configuration and the requests to try on it. */
export interface DiffCase {
  readonly seed: number;
  readonly acl: string;
  /** The password_file (`$7$` hashes of {@link PASSWORD}), or undefined when the broker runs without one. */
  readonly passwordFile?: string;
  readonly clients: readonly TestClient[];
  readonly topics: readonly string[];
}

/** What the broker did: who connected, what each client received, which publishes it accepted. */
export interface Observed {
  readonly connected: ReadonlyMap<string, boolean>;
  readonly received: ReadonlyMap<string, ReadonlySet<string>>;
  readonly published: ReadonlyMap<string, ReadonlyMap<string, boolean>>;
  /** Per client: filter → whether the SUBACK granted it. */
  readonly subscribed: ReadonlyMap<string, ReadonlyMap<string, boolean>>;
}

/** mulberry32: small, fast and good enough to pick test cases reproducibly. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const USERS = ['u1', 'u2', 'u3', 'u4', 'w/1', 'w+2'];
const CLIENT_IDS = ['c1', 'c2', 'c3', 'c4', 'u1', 'd/5', 'e+6', 'f#7', 'c5', 'c6', 'c7'];
const LEVELS = ['a', 'b', 'c1', 'c2', 'u1', 'u2', 'w', '1', 'd', '5', ''];
const ACCESS = ['read', 'write', 'readwrite', 'deny', undefined] as const;

/** A random acl_file, password file, set of clients and topics, the same for the same seed. */
export function generateCase(seed: number): DiffCase {
  const r = random(seed);
  const chance = (p: number) => r() < p;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)]!;
  const int = (min: number, max: number) => min + Math.floor(r() * (max - min + 1));

  const filter = (pattern: boolean): string => {
    const n = int(1, 3);
    const levels: string[] = [];
    for (let i = 0; i < n; i++) {
      const x = r();
      if (i === n - 1 && x < 0.15) levels.push('#');
      else if (x < 0.3) levels.push('+');
      else if (pattern && x < 0.55) levels.push(pick(['%u', '%c', '%c', 'x%u', '%c-%u']));
      else levels.push(pick(LEVELS));
    }
    if (chance(0.12)) levels.unshift('$d');
    const topic = levels.join('/');
    // A topic that is empty or one of the access words would read differently on a short line.
    return topic === '' || /^\s/.test(topic) ? 'a' : topic;
  };
  const ruleLine = (keyword: 'topic' | 'pattern'): string => {
    const access = pick(ACCESS);
    const sep = chance(0.1) ? '  ' : ' ';
    const topic = filter(keyword === 'pattern');
    return access === undefined ? `${keyword}${sep}${topic}` : `${keyword}${sep}${access}${sep}${topic}`;
  };

  const lines: string[] = [];
  const maybePattern = () => {
    if (chance(0.3)) lines.push(ruleLine('pattern'));
  };
  if (chance(0.2)) lines.push('# generated');
  for (let i = int(0, 3); i > 0; i--) {
    lines.push(ruleLine('topic'));
    maybePattern();
  }
  const sectionUsers = USERS.filter(() => chance(0.5));
  if (chance(0.2) && sectionUsers.length > 0) sectionUsers.push(pick(sectionUsers)); // a repeated section
  for (const user of sectionUsers) {
    lines.push(chance(0.1) ? `user  ${user}` : `user ${user}`);
    for (let i = int(0, 4); i > 0; i--) {
      lines.push(ruleLine('topic'));
      maybePattern();
    }
    if (chance(0.1)) lines.push('');
  }
  for (let i = int(0, 3); i > 0; i--) lines.push(ruleLine('pattern'));
  const acl = lines.map((line) => (chance(0.05) ? `${line}  ` : line)).join(chance(0.1) ? '\r\n' : '\n');

  // Clients: some users, some anonymous, each with its own client id.
  const ids = [...CLIENT_IDS].sort(() => r() - 0.5);
  const clients: TestClient[] = [];
  for (const username of USERS) {
    if (!chance(0.8)) continue;
    clients.push({ clientId: ids.pop()!, username, password: chance(0.1) ? 'wrong' : PASSWORD });
  }
  for (let i = int(1, 3); i > 0 && ids.length > 0; i--) clients.push({ clientId: ids.pop()! });

  const passwordUsers = chance(0.5) ? [...USERS.filter(() => chance(0.85)), OBSERVER] : undefined;
  const passwordFile = passwordUsers?.map((u) => `${u}:${mosquittoHash(PASSWORD)}\n`).join('');

  // Topics: random names, and names built from the clients' own values as a pattern would.
  const topics = new Set<string>();
  const values = clients.flatMap((c) => [c.clientId, c.username ?? '']).filter((v) => v && !/[+#]/.test(v));
  while (topics.size < 26) {
    let topic: string;
    if (chance(0.35) && values.length > 0) {
      const v = pick(values);
      topic = pick([`${v}`, `a/${v}`, `${v}/a`, `x${v}/b`, `$d/${v}`, `${v}/${pick(LEVELS)}/c`]);
    } else {
      const levels = Array.from({ length: int(1, 3) }, () => pick(LEVELS));
      if (chance(0.15)) levels[0] = '$d';
      topic = levels.join('/');
    }
    if (topic !== '') topics.add(topic);
  }
  return { seed, acl, ...(passwordFile && { passwordFile }), clients, topics: [...topics] };
}

/** Starts Mosquitto with the case's acl_file (and password_file) and observes every client. */
export function observeMosquitto(c: DiffCase): Promise<Observed> {
  const files: Record<string, string> = {
    acl: `${c.acl}\nuser ${OBSERVER}\ntopic write #\ntopic write $d/#\n`,
    ...(c.passwordFile && { passwd: c.passwordFile }),
  };
  return observeBroker({
    files,
    config: (dir) => [
      `acl_file ${join(dir, 'acl')}`,
      ...(c.passwordFile ? [`password_file ${join(dir, 'passwd')}`] : []),
    ],
    clients: c.clients,
    topics: c.topics,
    // acl_file never checks SUBSCRIBE: "#" and "$d/#" show every delivery READ allows.
    filters: ['#', '$d/#'],
  });
}

export interface BrokerSetup {
  /** Files written to a fresh temp dir (name → content). */
  readonly files: Readonly<Record<string, string>>;
  /** Config lines for the security setup, given that dir. */
  readonly config: (dir: string) => string[];
  readonly clients: readonly TestClient[];
  readonly topics: readonly string[];
  /** Filters each client subscribes to (one SUBSCRIBE); SUBACK codes are recorded. */
  readonly filters: readonly string[];
}

/**
 * Starts Mosquitto on a free port, connects every client, subscribes it, has the observer (user
 * `__observer`, password {@link PASSWORD}, which the setup must allow to publish every topic) publish each
 * topic, then has each client publish each topic; stops the broker by PID.
 */
export async function observeBroker(setup: BrokerSetup): Promise<Observed> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-mosq-'));
  const port = await freePort();
  for (const [name, content] of Object.entries(setup.files)) writeFileSync(join(dir, name), content);
  // `user root`: started as root, Mosquitto would switch to the mosquitto user, which cannot read this temp dir.
  const conf = [
    `listener ${port} 127.0.0.1`,
    'user root',
    'allow_anonymous true',
    'persistence false',
    'log_type none',
    ...setup.config(dir),
  ];
  writeFileSync(join(dir, 'mosquitto.conf'), `${conf.join('\n')}\n`);
  const broker = spawn(MOSQUITTO, ['-c', join(dir, 'mosquitto.conf')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  broker.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const clients: MqttClient[] = [];
  try {
    await waitForPort(port, broker, () => stderr);
    const observer = await connect(port, { clientId: OBSERVER, username: OBSERVER, password: PASSWORD });
    if (!observer) throw new Error('the observer could not connect');
    clients.push(observer);

    const connected = new Map<string, boolean>();
    const received = new Map<string, Set<string>>();
    const published = new Map<string, Map<string, boolean>>();
    const subscribed = new Map<string, Map<string, boolean>>();
    const live: [TestClient, MqttClient][] = [];
    await Promise.all(
      setup.clients.map(async (tc) => {
        const client = await connect(port, tc);
        connected.set(tc.clientId, client !== undefined);
        if (!client) return;
        clients.push(client);
        live.push([tc, client]);
        const got = new Set<string>();
        received.set(tc.clientId, got);
        client.on('message', (topic, payload) => {
          if (payload.toString() === 'R') got.add(topic);
        });
        const codes = await subscribeCodes(client, setup.filters);
        // SUBACK: a code of 0x80 or more refuses that filter (0x87 not authorized).
        subscribed.set(tc.clientId, new Map(setup.filters.map((f, i) => [f, codes[i]! < 0x80])));
      }),
    );
    // Deliveries: the observer publishes every topic; each subscriber gets what READ allows.
    await Promise.all(setup.topics.map((t) => observer.publishAsync(t, 'R', { qos: 1 })));
    // Publishes: each client tries every topic; PUBACK 0x87 is Mosquitto's refusal. A client's PUBACKs
    // also come after every delivery queued for it earlier on the same connection.
    await Promise.all(
      live.map(async ([tc, client]) => {
        const results = new Map<string, boolean>();
        published.set(tc.clientId, results);
        for (const topic of setup.topics) results.set(topic, await publishAllowed(client, topic));
      }),
    );
    await new Promise((r) => setTimeout(r, 30));
    return { connected, received, published, subscribed };
  } finally {
    for (const client of clients) client.end(true);
    await stop(broker);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `$7$` as Mosquitto 2.0's mosquitto_passwd writes it: PBKDF2-SHA512, 101 iterations, 12-byte salt. */
export function mosquittoHash(password: string): string {
  const salt = randomBytes(12);
  const hash = pbkdf2Sync(password, salt, 101, 64, 'sha512');
  return `$7$101$${salt.toString('base64')}$${hash.toString('base64')}`;
}

function connect(port: number, tc: TestClient): Promise<MqttClient | undefined> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect({
      host: '127.0.0.1',
      port,
      protocolVersion: 5,
      clientId: tc.clientId,
      ...(tc.username !== undefined && { username: tc.username }),
      ...(tc.password !== undefined && { password: tc.password }),
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
    client.once('connect', () => resolve(client));
    client.once('error', (error: Error & { code?: number }) => {
      client.end(true);
      // CONNACK 0x86 (bad user name or password) / 0x87 (not authorized): refused.
      if (error.code === 134 || error.code === 135) resolve(undefined);
      else reject(error);
    });
  });
}

/** The SUBACK reason codes of one SUBSCRIBE, in filter order (MQTT.js rejects when one is a refusal). */
function subscribeCodes(client: MqttClient, filters: readonly string[]): Promise<number[]> {
  return new Promise((resolve, reject) => {
    client.subscribe([...filters], { qos: 0 }, (error, granted) => {
      const packet = (error as (Error & { packet?: { granted?: number[] } }) | null)?.packet;
      if (packet?.granted) resolve(packet.granted);
      else if (error) reject(error);
      else resolve((granted ?? []).map((g) => g.qos));
    });
  });
}

function publishAllowed(client: MqttClient, topic: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    client.publish(topic, 'W', { qos: 1 }, (error?: Error & { code?: number }) => {
      if (!error) resolve(true);
      else if (error.code === 135) resolve(false);
      else reject(error);
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, broker: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (broker.exitCode !== null) throw new Error(`mosquitto exited ${broker.exitCode}: ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = netConnect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`mosquitto did not listen on ${port}: ${log()}`);
}

async function stop(broker: ChildProcess): Promise<void> {
  if (broker.exitCode !== null || broker.pid === undefined) return;
  const exited = new Promise((resolve) => broker.once('exit', resolve));
  process.kill(broker.pid, 'SIGTERM');
  await exited;
}

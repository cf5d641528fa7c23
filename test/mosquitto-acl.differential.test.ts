/**
 * `mqtt-warden import mosquitto-acl` against the real broker: for random acl_files and password_files,
 * every delivery (READ) and publish (WRITE) Mosquitto 2.0 decides must be decided the same by the
 * imported policy, except the documented deliberate differences, which are counted and listed.
 *
 * MOSQUITTO_DIFF_CASES (default 100) and MOSQUITTO_DIFF_SEED (default 15) choose the run; a failure
 * prints the seed of the case that disagreed, and MOSQUITTO_DIFF_CASES=1 MOSQUITTO_DIFF_SEED=<seed>
 * replays it alone.
 */
import { importMosquittoAcl } from '@mqtt-warden/migrate';
import { parseMosquittoPasswordFile, verifyPassword } from '@mqtt-warden/password';
import { parsePolicy } from '@mqtt-warden/policy';
import { describe, expect, it } from 'vitest';
import {
  type DiffCase,
  generateCase,
  type Observed,
  observeMosquitto,
  passwordPrincipal,
} from './mosquitto-differential.js';

const CASES = Number(process.env.MOSQUITTO_DIFF_CASES ?? 100);
const SEED = Number(process.env.MOSQUITTO_DIFF_SEED ?? 15);
const PARALLEL = 4;

interface Tally {
  cases: number;
  requests: number;
  agreed: number;
  /** Requests Mosquitto allowed, by action: the comparison is not between two all-deny answers. */
  allowed: Record<string, number>;
  /** Deliberate differences by kind. */
  deliberate: Record<string, number>;
  unexpected: string[];
}

describe('import mosquitto-acl decides as Mosquitto 2.0 (differential, real broker)', () => {
  it(
    `agrees on every delivery, publish and connect of ${CASES} random acl_files`,
    async () => {
      const tally: Tally = { cases: 0, requests: 0, agreed: 0, allowed: {}, deliberate: {}, unexpected: [] };
      // Brokers spend most of their time waiting on sockets: run a few at once, compare in seed order.
      for (let i = 0; i < CASES && tally.unexpected.length === 0; i += PARALLEL) {
        const batch = Array.from({ length: Math.min(PARALLEL, CASES - i) }, (_, k) =>
          generateCase(SEED + i + k),
        );
        const observed = await Promise.all(batch.map(observeMosquitto));
        for (const [k, c] of batch.entries()) await compare(c, observed[k]!, tally);
      }
      console.log(
        `mosquitto-acl differential: seeds ${SEED}..${SEED + tally.cases - 1}: ${tally.cases} acl_files, ${tally.requests} requests, ` +
          `${tally.agreed} agreed (Mosquitto allowed ${JSON.stringify(tally.allowed)}), deliberate differences ${JSON.stringify(tally.deliberate)}, unexpected ${tally.unexpected.length}`,
      );
      expect(tally.unexpected, tally.unexpected.slice(0, 20).join('\n')).toEqual([]);
      expect(tally.requests).toBeGreaterThan(CASES * 100);
      expect(tally.allowed.receive).toBeGreaterThan(CASES);
      expect(tally.allowed.publish).toBeGreaterThan(CASES);
    },
    Math.max(600_000, CASES * 3_000),
  );
});

async function compare(c: DiffCase, observed: Observed, tally: Tally): Promise<void> {
  const policy = parsePolicy(importMosquittoAcl(c.acl, { file: 'acl' }).yaml);
  const hashes = new Map(parseMosquittoPasswordFile(c.passwordFile ?? '').map((u) => [u.username, u.hash]));
  const patterns = c.acl.split(/\r?\n/).filter((line) => line.trimStart().startsWith('pattern'));
  const usesU = patterns.some((line) => line.includes('%u'));
  const usesC = patterns.some((line) => line.includes('%c'));
  tally.cases++;
  const fail = (what: string) => {
    tally.unexpected.push(`seed ${c.seed}: ${what}\n--- acl_file ---\n${c.acl}\n--- end ---`);
  };

  for (const client of c.clients) {
    const who = `${client.username === undefined ? 'anonymous' : `user ${JSON.stringify(client.username)}`} client ${JSON.stringify(client.clientId)}`;
    // Connect: the password file decides named clients, through mqtt-warden's own reader and verifier;
    // anonymous clients are allowed (allow_anonymous true).
    let mayConnect = true;
    if (c.passwordFile !== undefined && client.username !== undefined) {
      const hash = hashes.get(client.username);
      mayConnect = hash !== undefined && (await verifyPassword(client.password ?? '', hash));
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
    // Mosquitto 2.0 pasted %u/%c values in as raw text; a "/" in them adds levels there, never here.
    const slash =
      (usesU && client.username?.includes('/') === true) || (usesC && client.clientId.includes('/'));
    const received = observed.received.get(client.clientId)!;
    const published = observed.published.get(client.clientId)!;
    for (const topic of c.topics) {
      for (const action of ['receive', 'publish'] as const) {
        const mosquitto = action === 'receive' ? received.has(topic) : published.get(topic)!;
        const ours = policy.authorize(principal, { action, topic }).allowed;
        tally.requests++;
        if (mosquitto) tally.allowed[action] = (tally.allowed[action] ?? 0) + 1;
        if (mosquitto === ours) tally.agreed++;
        else if (slash) count(tally, 'a "/" in a %u or %c value (raw substitution in 2.0)');
        else fail(`${who}: ${action} ${JSON.stringify(topic)}: Mosquitto ${mosquitto}, policy ${ours}`);
      }
    }
    // Mosquitto 2.0 accepted the subscription to "#" of every client; the policy needs a covering read rule.
    const subscribe = policy.authorize(principal, { action: 'subscribe', topic: '#', deliveryChecked: true });
    if (!subscribe.allowed) count(tally, 'SUBSCRIBE "#" accepted by Mosquitto 2.0, refused by the policy');
  }
}

function count(tally: Tally, kind: string): void {
  tally.deliberate[kind] = (tally.deliberate[kind] ?? 0) + 1;
}

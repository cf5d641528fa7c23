/**
 * `mqtt-warden export mosquitto-acl` against the real broker: random acl_files are imported into policies,
 * each policy is exported again, and the exported acl_file runs in a real Mosquitto 2.0. Every delivery
 * (READ) and publish (WRITE) the broker decides must be what the policy decides (`mqtt-warden check`),
 * except the documented deliberate difference (a "/" in a %u or %c value), counted. The exported file,
 * imported again, must decide every request as the first import.
 *
 * MOSQUITTO_EXPORT_CASES (default 40) and MOSQUITTO_EXPORT_SEED (default 4000) choose the run; a failure
 * prints the seed and both files.
 */
import { exportMosquittoAcl, importMosquittoAcl } from '@mqtt-warden/migrate';
import { parsePolicy } from '@mqtt-warden/policy';
import { describe, expect, it } from 'vitest';
import {
  type DiffCase,
  generateCase,
  observeMosquitto,
  passwordPrincipal,
} from './mosquitto-differential.js';

const CASES = Number(process.env.MOSQUITTO_EXPORT_CASES ?? 40);
const SEED = Number(process.env.MOSQUITTO_EXPORT_SEED ?? 4000);
const PARALLEL = 4;

describe('export mosquitto-acl decides in a real Mosquitto 2.0 as the policy does', () => {
  it(
    `agrees on every delivery and publish of ${CASES} exported policies`,
    async () => {
      let requests = 0;
      let agreed = 0;
      let slash = 0;
      const allowed = { receive: 0, publish: 0 };
      const unexpected: string[] = [];
      for (let i = 0; i < CASES && unexpected.length === 0; i += PARALLEL) {
        const batch = Array.from({ length: Math.min(PARALLEL, CASES - i) }, (_, k) => {
          const c = generateCase(SEED + i + k);
          const yaml = importMosquittoAcl(c.acl, { file: 'acl' }).yaml;
          const exported = exportMosquittoAcl(yaml, { file: 'policy.yaml' });
          // An imported policy keeps Mosquitto's order, so its export must not refuse anything.
          expect(exported.report.refused, `seed ${c.seed}`).toEqual([]);
          return { c: { ...c, acl: exported.text } satisfies DiffCase, yaml };
        });
        const observed = await Promise.all(batch.map(({ c }) => observeMosquitto(c)));
        for (const [k, { c, yaml }] of batch.entries()) {
          const policy = parsePolicy(yaml);
          // import → export → import: the second import decides as the first, broker or not.
          const again = parsePolicy(importMosquittoAcl(c.acl, { file: 'exported' }).yaml);
          const patterns = c.acl.split('\n').filter((line) => line.startsWith('pattern'));
          const usesU = patterns.some((line) => line.includes('%u'));
          const usesC = patterns.some((line) => line.includes('%c'));
          const seen = observed[k]!;
          for (const client of c.clients) {
            if (!seen.connected.get(client.clientId)) continue;
            const principal = passwordPrincipal(client);
            const raw =
              (usesU && client.username?.includes('/') === true) || (usesC && client.clientId.includes('/'));
            for (const topic of c.topics) {
              for (const action of ['receive', 'publish'] as const) {
                const mosquitto =
                  action === 'receive'
                    ? seen.received.get(client.clientId)!.has(topic)
                    : seen.published.get(client.clientId)!.get(topic)!;
                const ours = policy.authorize(principal, { action, topic }).allowed;
                if (again.authorize(principal, { action, topic }).allowed !== ours) {
                  unexpected.push(
                    `seed ${c.seed}: ${JSON.stringify(client)} ${action} ${topic}: re-import differs`,
                  );
                }
                requests++;
                if (mosquitto) allowed[action]++;
                if (mosquitto === ours) agreed++;
                else if (raw) slash++;
                else {
                  unexpected.push(
                    `seed ${c.seed}: ${JSON.stringify(client)} ${action} ${JSON.stringify(topic)}: Mosquitto ${mosquitto}, policy ${ours}\n--- exported acl_file ---\n${c.acl}\n--- policy ---\n${yaml}`,
                  );
                }
              }
            }
          }
        }
      }
      console.log(
        `mosquitto-acl export differential: seeds ${SEED}..${SEED + CASES - 1}: ${requests} requests, ${agreed} agreed ` +
          `(Mosquitto allowed ${JSON.stringify(allowed)}), "/" in a %u/%c value ${slash}, unexpected ${unexpected.length}`,
      );
      expect(unexpected, unexpected.slice(0, 5).join('\n')).toEqual([]);
      expect(requests).toBeGreaterThan(CASES * 50);
      expect(allowed.receive).toBeGreaterThan(CASES);
      expect(allowed.publish).toBeGreaterThan(CASES);
    },
    Math.max(600_000, CASES * 3_000),
  );
});

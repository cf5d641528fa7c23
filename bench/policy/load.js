// Policy load benchmark: node --expose-gc bench/policy/load.js   (after `pnpm run build`)
// The 100k-rule policy of bench/policy/index.js, written as YAML and as JSON files; each round loads it
// with loadPolicy (read + parse + validate + compile) from both files and compiles the already-parsed
// document (compilePolicy: validate + compile), alternating; medians and spread of ROUNDS rounds.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compilePolicy, loadPolicy } from '../../packages/policy/dist/index.js';
import { fleetPolicy, ROLES, RULES_PER_ROLE, seededRandom } from './fleet-policy.js';

const ROUNDS = Number(process.env.ROUNDS ?? 5);

const document = fleetPolicy(seededRandom());
const { roles } = document;

// YAML as people write it: block mappings, flow lists, quoted topics.
const yaml = ['version: 1', 'roles:'];
for (const [name, { rules }] of Object.entries(roles)) {
  yaml.push(`  ${name}:`, '    rules:');
  for (const rule of rules) {
    yaml.push(
      `      - effect: ${rule.effect}`,
      `        actions: [${rule.actions.join(', ')}]`,
      `        topics: [${rule.topics.map((t) => JSON.stringify(t)).join(', ')}]`,
    );
  }
}
const dir = mkdtempSync(join(tmpdir(), 'warden-load-'));
const yamlFile = join(dir, 'policy.yaml');
const jsonFile = join(dir, 'policy.json');
writeFileSync(yamlFile, `${yaml.join('\n')}\n`);
writeFileSync(jsonFile, JSON.stringify(document, null, 2));

const contenders = {
  'compile the parsed document (compilePolicy)': () => compilePolicy(document),
  'load YAML file (loadPolicy)': () => loadPolicy(yamlFile),
  'load JSON file (loadPolicy)': () => loadPolicy(jsonFile),
};
const times = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
const ratios = { YAML: [], JSON: [] };
const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
try {
  for (let round = 0; round < ROUNDS; round++) {
    const round_ = {};
    for (const [name, run] of Object.entries(contenders)) {
      globalThis.gc?.();
      const t = performance.now();
      const policy = await run();
      round_[name] = performance.now() - t;
      times[name].push(round_[name]);
      if (policy.file === undefined && name.startsWith('load')) throw new Error('no file');
    }
    const base = round_['compile the parsed document (compilePolicy)'];
    ratios.YAML.push(round_['load YAML file (loadPolicy)'] / base);
    ratios.JSON.push(round_['load JSON file (loadPolicy)'] / base);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const fmt = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
console.log(
  `node ${process.version}, ${ROLES * RULES_PER_ROLE} rules, ${ROUNDS} rounds, load average ${(
    await import('node:os')
  )
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
for (const [name, list] of Object.entries(times)) {
  console.log(
    `${name.padEnd(46)} median ${fmt(median(list)).padStart(6)} ms  (${fmt(Math.min(...list))}–${fmt(Math.max(...list))})`,
  );
}
for (const [kind, list] of Object.entries(ratios)) {
  console.log(
    `load ${kind} ÷ compile, per round: median ${fmt(median(list), 2)}× (${fmt(Math.min(...list), 2)}–${fmt(Math.max(...list), 2)})`,
  );
}

import { writeFile } from 'node:fs/promises';
import { type BrokenSuite, junitXml, runSuite, type SuiteResult } from '@mqtt-warden/testing';
import { parseCommandArgs } from './parse-command-args.js';
import { describeLoadError } from './validate.js';

const HELP = `Usage: mqtt-warden test SUITE... [--junit FILE]

Runs policy test suites. A suite is YAML:
  policy: policy.yaml          # relative to the suite
  cases:
    - name: a device publishes its telemetry
      who: { username: dev-1, clientId: dev-1, method: x509, attributes: { cert.cn: dev-1 } }
      what: { publish: devices/dev-1/telemetry, qos: 1 }   # or subscribe / receive, or: connect
      expect: allow                                         # or deny

Prints each failing case with the policy's explanation, then a summary line.
Exit status: 0 all cases passed, 1 a case failed, 2 usage error or a suite/policy that cannot load.`;

/** `mqtt-warden test SUITE... [--junit FILE]` → 0 only when every case of every suite passes. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('test', HELP, args, {
    allowPositionals: true,
    options: { junit: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (typeof parsed === 'number') return parsed;
  const { positionals, values } = parsed;
  if (positionals.length === 0) {
    console.error(`mqtt-warden test: give at least one suite file\n\n${HELP}`);
    return 2;
  }
  const results: SuiteResult[] = [];
  const broken: BrokenSuite[] = [];
  for (const file of positionals) {
    try {
      results.push(await runSuite(file));
    } catch (error) {
      const reason = describeLoadError(error, file);
      broken.push({ file, reason });
      console.error(reason);
    }
  }
  for (const suite of results) {
    for (const c of suite.cases) {
      if (c.passed) continue;
      console.log(`FAIL ${suite.file}${c.line !== undefined ? `:${c.line}` : ''} ${c.name}`);
      console.log(`  expected ${c.expected}, got ${c.actual}`);
      console.log(c.text.replace(/^/gm, '  '));
    }
  }
  const passed = results.reduce((n, r) => n + r.passed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  console.log(
    `${passed} passed, ${failed} failed (${results.length} ${results.length === 1 ? 'suite' : 'suites'}${
      broken.length ? `, ${broken.length} could not load` : ''
    })`,
  );
  if (values.junit) await writeFile(values.junit, junitXml(results, broken));
  if (broken.length > 0) return 2;
  return failed > 0 ? 1 : 0;
}

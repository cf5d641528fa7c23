import { readFile, writeFile } from 'node:fs/promises';
import { WardenError } from '@mqtt-warden/core';
import {
  type ExportResult,
  exportEmqxAcl,
  exportMosquittoAcl,
  formatImportReport,
} from '@mqtt-warden/migrate';
import { parseCommandArgs } from './parse-command-args.js';

const HELP = `Usage: mqtt-warden export TARGET POLICY --out FILE [--lossy] [--verbose]

Targets:
  mosquitto-acl   a Mosquitto 2.0 acl_file
  emqx-acl        an EMQX 5 acl.conf

Writes the policy in the other broker's ACL format, deciding as the policy does, and prints a report of
every rule exported and everything the format cannot hold (conditions it lacks, attribute placeholders,
groups, client-id binding, an evaluation order it cannot keep).

Options:
  --out FILE      where to write the ACL file
  --lossy         write the file even when something could not be exported (it is listed)
  --verbose       list every exported rule in the report

Exit status: 0 written, 1 something could not be exported (nothing written unless --lossy) or the
policy is invalid, 2 usage error or unreadable file.`;

const TARGETS: Record<string, (text: string, options: { file: string }) => ExportResult> = {
  'mosquitto-acl': exportMosquittoAcl,
  'emqx-acl': exportEmqxAcl,
};

const options = {
  out: { type: 'string', short: 'o' },
  lossy: { type: 'boolean' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `mqtt-warden export TARGET POLICY --out FILE` → 0 written, 1 not expressible or invalid policy, 2 usage. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('export', HELP, args, { options, allowPositionals: true });
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const [target, file, ...extra] = positionals;
  if (target === undefined || !Object.hasOwn(TARGETS, target)) {
    return usage(`give a target: ${Object.keys(TARGETS).join(', ')}`);
  }
  if (file === undefined || extra.length > 0) return usage('give exactly one policy file to export');
  if (!values.out) return usage('--out FILE is required');

  let result: ExportResult;
  try {
    result = TARGETS[target]!(await readFile(file, 'utf8'), { file });
  } catch (error) {
    if (error instanceof WardenError) {
      console.error(`mqtt-warden export: ${error.message}`);
      return 1;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
      console.error(`mqtt-warden export: cannot read ${file}: ${code}`);
      return 2;
    }
    throw error;
  }
  console.log(formatImportReport(result.report, { verbose: values.verbose, verb: 'exported' }));
  if (result.report.refused.length > 0 && !values.lossy) {
    console.error(
      `\nmqtt-warden export: ${result.report.refused.length} item(s) cannot be written as ${target}; nothing written (--lossy writes the rest)`,
    );
    return 1;
  }
  await writeFile(values.out, result.text);
  console.log(`\nwrote ${values.out}`);
  return 0;
}

function usage(message: string): number {
  console.error(`mqtt-warden export: ${message}\n\n${HELP}`);
  return 2;
}

import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { WardenError } from '@mqtt-warden/core';
import {
  type DynsecImportResult,
  formatImportReport,
  type ImportResult,
  importDynsec,
  importGoAuthAcl,
  importMosquittoAcl,
} from '@mqtt-warden/migrate';

const HELP = `Usage: mqtt-warden import SOURCE FILE --out POLICY [options]

Sources:
  mosquitto-acl ACL_FILE [--password-file FILE]   a Mosquitto 2.0 acl_file (and its password_file)
  dynsec DYNSEC_JSON [--users-out USERS]          a Mosquitto dynamic-security JSON file; --users-out
                                                  writes its clients' password hashes as a users file
  go-auth-acl ACL_FILE                            a mosquitto-go-auth files-backend ACL file

Writes a policy that decides as the old broker did, with a comment per rule naming its source line,
and prints a report: what was imported, what changed meaning and why, what was refused.

Options:
  --out POLICY        where to write the policy (YAML)
  --lossy             write the policy even when some rules could not be imported (they are listed)
  --verbose           list every imported line in the report

Exit status: 0 policy written, 1 a rule could not be imported (nothing written unless --lossy) or the
source file is one the old broker refuses, 2 usage error or unreadable file.`;

const options = {
  out: { type: 'string', short: 'o' },
  'password-file': { type: 'string' },
  'users-out': { type: 'string' },
  lossy: { type: 'boolean' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ args: string[]; options: typeof options }>>['values'];

/** Each source: reads its files and imports them. */
const SOURCES: Record<string, (file: string, values: Values) => Promise<ImportResult | DynsecImportResult>> =
  {
    'mosquitto-acl': async (file, values) => {
      const passwordFile = values['password-file'];
      return importMosquittoAcl(await readFile(file, 'utf8'), {
        file,
        ...(passwordFile !== undefined && {
          passwordFile: { file: passwordFile, text: await readFile(passwordFile, 'utf8') },
        }),
      });
    },
    dynsec: async (file) => importDynsec(await readFile(file, 'utf8'), { file }),
    'go-auth-acl': async (file) => importGoAuthAcl(await readFile(file, 'utf8'), { file }),
  };

/** `mqtt-warden import SOURCE FILE --out POLICY` → 0 written, 1 refused rules or invalid source, 2 usage. */
export async function run(args: string[]): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args, options, allowPositionals: true }));
  } catch (error) {
    return usage((error as Error).message);
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const [source, file, ...extra] = positionals;
  if (source === undefined || !Object.hasOwn(SOURCES, source)) {
    return usage(`give a source: ${Object.keys(SOURCES).join(', ')}`);
  }
  if (file === undefined || extra.length > 0) return usage('give exactly one file to import');
  if (!values.out) return usage('--out POLICY is required');
  if (values['password-file'] !== undefined && source !== 'mosquitto-acl') {
    return usage('--password-file goes with mosquitto-acl');
  }
  if (values['users-out'] !== undefined && source !== 'dynsec') return usage('--users-out goes with dynsec');

  let result: ImportResult | DynsecImportResult;
  try {
    result = await SOURCES[source]!(file, values);
  } catch (error) {
    if (error instanceof WardenError) {
      console.error(`mqtt-warden import: ${error.message}`);
      return 1;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
      console.error(`mqtt-warden import: cannot read ${(error as NodeJS.ErrnoException).path}: ${code}`);
      return 2;
    }
    throw error;
  }
  console.log(formatImportReport(result.report, { verbose: values.verbose }));
  if (result.report.refused.length > 0 && !values.lossy) {
    console.error(
      `\nmqtt-warden import: ${result.report.refused.length} rule(s) could not be imported; nothing written (--lossy writes the rest)`,
    );
    return 1;
  }
  await writeFile(values.out, result.yaml);
  console.log(`\nwrote ${values.out}`);
  const usersOut = values['users-out'];
  if (usersOut !== undefined && 'usersYaml' in result) {
    // Password hashes: readable by the owner only.
    await writeFile(usersOut, result.usersYaml, { mode: 0o600 });
    console.log(`wrote ${usersOut}`);
  }
  return 0;
}

function usage(message: string): number {
  console.error(`mqtt-warden import: ${message}\n\n${HELP}`);
  return 2;
}

import { readFile, writeFile } from 'node:fs/promises';
import { WardenError } from '@mqtt-warden/core';
import {
  type DynsecImportResult,
  type EmqxHashSettings,
  formatImportReport,
  type ImportResult,
  importDynsec,
  importEmqxAcl,
  importEmqxUsers,
  importGoAuthAcl,
  importMosquittoAcl,
  type UsersImportResult,
} from '@mqtt-warden/migrate';
import { type CommandArgs, parseCommandArgs } from './parse-command-args.js';

const HELP = `Usage: mqtt-warden import SOURCE FILE --out POLICY|USERS [options]

Sources:
  mosquitto-acl ACL_FILE [--password-file FILE]   a Mosquitto 2.0 acl_file (and its password_file)
  dynsec DYNSEC_JSON [--users-out USERS]          a Mosquitto dynamic-security JSON file; --users-out
                                                  writes its clients' password hashes as a users file
  go-auth-acl ACL_FILE                            a mosquitto-go-auth files-backend ACL file
  emqx-acl ACL_CONF [--no-match allow|deny]       an EMQX 5 acl.conf; --no-match is EMQX's
                                                  authorization.no_match (default allow, as in EMQX)
  emqx-users FILE --out USERS                     an EMQX built-in database user export (CSV or JSON)
                                                  as a users file, hashes kept as they are

Writes a policy that decides as the old broker did, with a comment per rule naming its source line,
and prints a report: what was imported, what changed meaning and why, what was refused.

Options:
  --out FILE          where to write the policy (YAML), or the users file for emqx-users
  --lossy             write even when some rules or users could not be imported (they are listed)
  --verbose           list every imported line in the report

emqx-users: the export does not say how EMQX hashed; give its authenticator's settings:
  --hash-algorithm A  plain, md5, sha, sha256 (default), sha512, bcrypt or pbkdf2
  --salt-position P   prefix (default), suffix or disable (plain and the digests)
  --pbkdf2-mac-fun F  sha, sha224, sha256, sha384 or sha512 (pbkdf2)
  --pbkdf2-iterations N, --pbkdf2-dk-length N            (pbkdf2; dk-length defaults to the digest size)

Exit status: 0 policy written, 1 a rule could not be imported (nothing written unless --lossy) or the
source file is one the old broker refuses, 2 usage error or unreadable file.`;

const options = {
  out: { type: 'string', short: 'o' },
  'password-file': { type: 'string' },
  'users-out': { type: 'string' },
  'no-match': { type: 'string' },
  'hash-algorithm': { type: 'string' },
  'salt-position': { type: 'string' },
  'pbkdf2-mac-fun': { type: 'string' },
  'pbkdf2-iterations': { type: 'string' },
  'pbkdf2-dk-length': { type: 'string' },
  lossy: { type: 'boolean' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = CommandArgs<{ options: typeof options }>['values'];

type Result = ImportResult | DynsecImportResult | UsersImportResult;

/** Each source: reads its files and imports them. */
const SOURCES: Record<string, (file: string, values: Values) => Promise<Result>> = {
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
  'emqx-acl': async (file, values) =>
    importEmqxAcl(await readFile(file, 'utf8'), {
      file,
      noMatch: values['no-match'] as 'allow' | 'deny' | undefined,
    }),
  'emqx-users': async (file, values) =>
    importEmqxUsers(await readFile(file, 'utf8'), { file, hash: hashSettings(values) }),
};

/** Flags that go with one source only. */
const ONLY: Record<string, string> = {
  'password-file': 'mosquitto-acl',
  'users-out': 'dynsec',
  'no-match': 'emqx-acl',
  'hash-algorithm': 'emqx-users',
  'salt-position': 'emqx-users',
  'pbkdf2-mac-fun': 'emqx-users',
  'pbkdf2-iterations': 'emqx-users',
  'pbkdf2-dk-length': 'emqx-users',
};

const DIGESTS = ['plain', 'md5', 'sha', 'sha256', 'sha512'];
const MAC_FUNS = ['sha', 'sha224', 'sha256', 'sha384', 'sha512'];

/** The EMQX hash settings from the flags; throws a UsageError for a bad value. */
function hashSettings(values: Values): EmqxHashSettings {
  const name = values['hash-algorithm'] ?? 'sha256';
  const position = values['salt-position'];
  if (position !== undefined && !['prefix', 'suffix', 'disable'].includes(position)) {
    throw new UsageError('--salt-position is prefix, suffix or disable');
  }
  if (DIGESTS.includes(name)) {
    return {
      name: name as 'sha256',
      ...(position !== undefined && { saltPosition: position as 'prefix' }),
    };
  }
  if (position !== undefined) throw new UsageError(`--salt-position does not go with ${name}`);
  if (name === 'bcrypt') return { name };
  if (name !== 'pbkdf2') {
    throw new UsageError(`--hash-algorithm is one of ${[...DIGESTS, 'bcrypt', 'pbkdf2'].join(', ')}`);
  }
  const macFun = values['pbkdf2-mac-fun'];
  const iterations = Number(values['pbkdf2-iterations']);
  const dkLength = values['pbkdf2-dk-length'];
  if (!macFun || !MAC_FUNS.includes(macFun)) {
    throw new UsageError(`pbkdf2 needs --pbkdf2-mac-fun (${MAC_FUNS.join(', ')})`);
  }
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new UsageError('pbkdf2 needs --pbkdf2-iterations N (a whole number, at least 1)');
  }
  if (dkLength !== undefined && !/^[1-9]\d*$/.test(dkLength)) {
    throw new UsageError('--pbkdf2-dk-length is a whole number of bytes');
  }
  return {
    name,
    macFun: macFun as 'sha256',
    iterations,
    ...(dkLength !== undefined && { dkLength: Number(dkLength) }),
  };
}

class UsageError extends Error {}

/** `mqtt-warden import SOURCE FILE --out POLICY` → 0 written, 1 refused rules or invalid source, 2 usage. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('import', HELP, args, { options, allowPositionals: true });
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const [source, file, ...extra] = positionals;
  if (source === undefined || !Object.hasOwn(SOURCES, source)) {
    return usage(`give a source: ${Object.keys(SOURCES).join(', ')}`);
  }
  if (file === undefined || extra.length > 0) return usage('give exactly one file to import');
  if (!values.out) return usage('--out POLICY is required');
  for (const [flag, owner] of Object.entries(ONLY)) {
    if (values[flag as keyof Values] !== undefined && source !== owner)
      return usage(`--${flag} goes with ${owner}`);
  }
  const noMatch = values['no-match'];
  if (noMatch !== undefined && noMatch !== 'allow' && noMatch !== 'deny') {
    return usage('--no-match is allow or deny');
  }

  let result: Result;
  try {
    result = await SOURCES[source]!(file, values);
  } catch (error) {
    if (error instanceof UsageError) return usage(error.message);
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
  console.log(
    formatImportReport(result.report, {
      verbose: values.verbose,
      noun: 'yaml' in result ? 'rules' : 'users',
    }),
  );
  if (result.report.refused.length > 0 && !values.lossy) {
    console.error(
      `\nmqtt-warden import: ${result.report.refused.length} ${'yaml' in result ? 'rule(s)' : 'user(s)'} could not be imported; nothing written (--lossy writes the rest)`,
    );
    return 1;
  }
  if ('yaml' in result) await writeFile(values.out, result.yaml);
  // Password hashes: readable by the owner only.
  else await writeFile(values.out, result.usersYaml, { mode: 0o600 });
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

import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { WardenError } from '@mqtt-warden/core';
import {
  checkPasswordRules,
  checkUsername,
  credentialFileFormat,
  deleteMosquittoPassword,
  deleteUser,
  hashPassword,
  parseMosquittoPasswordFile,
  parseUsersFile,
  setMosquittoPassword,
  setUserPassword,
} from '@mqtt-warden/password';
import { parseCommandArgs } from './parse-command-args.js';

const HELP = `Usage: mqtt-warden passwd [--stdin] FILE USERNAME
       mqtt-warden passwd -D FILE USERNAME

Sets USERNAME's password in FILE, creating either when missing (like mosquitto_passwd). FILE is a
users file (.yaml, .yml, .json: hash plus roles, groups, attributes) or, under any other name, a
Mosquitto password_file. The new hash is argon2id with OWASP parameters, which mqtt-warden,
Mosquitto 2.1 (built with argon2) and go-auth verify. The password must pass the password rules:
at least 12 characters, not a common password, not containing the username.

Options:
  --stdin        read the password from the first line of standard input
                 (without it, the password is prompted for twice, without echo)
  -D, --delete   remove USERNAME from FILE

Exit status: 0 done, 1 refused (password rules, passwords differ, no such user), 2 usage or file error.`;

/** Where a command reads and writes; tests pass their own streams. */
export interface CommandIo {
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

const PROCESS_IO: CommandIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };

const options = {
  stdin: { type: 'boolean' },
  delete: { type: 'boolean', short: 'D' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `mqtt-warden passwd FILE USERNAME` → 0 done, 1 refused, 2 usage or file error. */
export async function run(args: string[], io: CommandIo = PROCESS_IO): Promise<number> {
  const parsed = parseCommandArgs('passwd', HELP, args, { options, allowPositionals: true }, io);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const [file, username] = positionals;
  if (positionals.length !== 2 || file === undefined || username === undefined) {
    return usage(io, 'expected FILE and USERNAME');
  }
  const format = credentialFileFormat(file);
  try {
    const text = await readExisting(file, values.delete === true);
    if (values.delete) {
      const next =
        format === 'mosquitto' ? deleteMosquittoPassword(text, username) : deleteUser(text, format, username);
      if (next === undefined) {
        io.stderr.write(`mqtt-warden passwd: user "${username}" is not in ${file}\n`);
        return 1;
      }
      await writeAtomically(file, next, format);
      return 0;
    }
    checkUsername(username);
    const password = values.stdin ? await readLine(io.stdin) : await promptTwice(io);
    if (password === undefined) {
      io.stderr.write('mqtt-warden passwd: the passwords do not match\n');
      return 1;
    }
    const rules = checkPasswordRules(password, {}, { username });
    if (!rules.ok) {
      for (const failure of rules.failures) io.stderr.write(`mqtt-warden passwd: ${failure.message}\n`);
      return 1;
    }
    const hash = await hashPassword(password);
    const next =
      format === 'mosquitto'
        ? setMosquittoPassword(text, username, hash)
        : setUserPassword(text, format, username, hash, new Date());
    await writeAtomically(file, next, format);
    return 0;
  } catch (error) {
    if (!(error instanceof WardenError)) throw error;
    io.stderr.write(`mqtt-warden passwd: ${error.message}\n`);
    return 2;
  }
}

async function readExisting(file: string, mustExist: boolean): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !mustExist) return '';
    throw new CliError(`cannot read ${file} (${(error as NodeJS.ErrnoException).code})`);
  }
}

/**
 * Checks the edited file loads (so a broken file is never made worse), then replaces it in one rename,
 * keeping its permissions; a new file is readable by its owner only.
 */
async function writeAtomically(file: string, text: string, format: 'yaml' | 'json' | 'mosquitto') {
  if (format === 'mosquitto') parseMosquittoPasswordFile(text, file);
  else parseUsersFile(text, format, file);
  const mode = await stat(file).then(
    (s) => s.mode & 0o777,
    () => 0o600,
  );
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, text, { mode });
  await rename(temporary, file);
}

/** The first line of a stream, without its line ending. */
export async function readLine(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const end = buffer.indexOf(0x0a);
    if (end >= 0) {
      chunks.push(buffer.subarray(0, end));
      break;
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r$/, '');
}

/** Prompts twice without echo; undefined when the two entries differ. */
async function promptTwice(io: CommandIo): Promise<string | undefined> {
  const first = await promptHidden(io, 'Password: ');
  const second = await promptHidden(io, 'Reenter password: ');
  return first === second ? first : undefined;
}

/** Reads one line from a terminal in raw mode, echoing nothing. */
export function promptHidden(io: CommandIo, prompt: string): Promise<string> {
  const { stdin } = io;
  if (!stdin.isTTY || !stdin.setRawMode) {
    return Promise.reject(new CliError('standard input is not a terminal; pass the password with --stdin'));
  }
  const setRawMode = stdin.setRawMode.bind(stdin);
  io.stderr.write(prompt);
  setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = () => {
      stdin.removeListener('data', onData);
      setRawMode(false);
      stdin.pause();
      io.stderr.write('\n');
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of chunk.toString()) {
        if (ch === '\r' || ch === '\n') {
          finish();
          resolve(value);
          return;
        }
        if (ch === '\u0003' || ch === '\u0004') {
          finish();
          reject(new CliError('cancelled'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

class CliError extends WardenError {
  constructor(message: string) {
    super('ERR_CLI', message);
  }
}

function usage(io: CommandIo, message: string): number {
  io.stderr.write(`mqtt-warden passwd: ${message}\n\n${HELP}\n`);
  return 2;
}

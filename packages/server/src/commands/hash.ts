import { WardenError } from '@mqtt-warden/core';
import { checkPasswordRules, hashPassword } from '@mqtt-warden/password';
import { parseCommandArgs } from './parse-command-args.js';
import { type CommandIo, promptHidden, readLine } from './passwd.js';

const HELP = `Usage: mqtt-warden hash [--memory-cost KIB] [--time-cost N] [--parallelism N] < password

Prints the argon2id hash (PHC string) of a password read from the first line of standard input
(prompted for without echo when standard input is a terminal), for a users file or any store that
verifyPassword reads. Defaults are OWASP's: --memory-cost 19456 --time-cost 2 --parallelism 1.
The password must pass the password rules (at least 12 characters, not a common password).

Exit status: 0 printed, 1 refused by the password rules, 2 usage error.`;

const options = {
  'memory-cost': { type: 'string' },
  'time-cost': { type: 'string' },
  parallelism: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const PROCESS_IO: CommandIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };

/** `mqtt-warden hash` → prints a hash; 0 done, 1 refused, 2 usage error. */
export async function run(args: string[], io: CommandIo = PROCESS_IO): Promise<number> {
  const parsed = parseCommandArgs('hash', HELP, args, { options }, io);
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  const cost = {
    memoryCost: integer(values['memory-cost']),
    timeCost: integer(values['time-cost']),
    parallelism: integer(values.parallelism),
  };
  if (Object.values(cost).some(Number.isNaN)) return usage(io, 'cost options take whole numbers');
  try {
    const password = io.stdin.isTTY ? await promptHidden(io, 'Password: ') : await readLine(io.stdin);
    const rules = checkPasswordRules(password);
    if (!rules.ok) {
      for (const failure of rules.failures) io.stderr.write(`mqtt-warden hash: ${failure.message}\n`);
      return 1;
    }
    io.stdout.write(`${await hashPassword(password, cost)}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof WardenError)) throw error;
    io.stderr.write(`mqtt-warden hash: ${error.message}\n`);
    return 2;
  }
}

function integer(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  return /^\d+$/.test(text) ? Number(text) : Number.NaN;
}

function usage(io: CommandIo, message: string): number {
  io.stderr.write(`mqtt-warden hash: ${message}\n\n${HELP}\n`);
  return 2;
}

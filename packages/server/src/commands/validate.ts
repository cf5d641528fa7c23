import { WardenError } from '@mqtt-warden/core';
import { formatIssue, loadPolicy, PolicyError } from '@mqtt-warden/policy';
import { parseCommandArgs } from './parse-command-args.js';

const HELP = `Usage: mqtt-warden validate POLICY

Checks a policy file (YAML or JSON). Prints OK, or each mistake as FILE:LINE:COLUMN: message.
Exit status: 0 valid, 2 invalid or unreadable.`;

/** `mqtt-warden validate POLICY` → 0 when the policy loads, 2 otherwise. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('validate', HELP, args, {
    allowPositionals: true,
    options: { help: { type: 'boolean', short: 'h' } },
  });
  if (typeof parsed === 'number') return parsed;
  const { positionals } = parsed;
  if (positionals.length !== 1) {
    console.error(`mqtt-warden validate: give exactly one policy file\n\n${HELP}`);
    return 2;
  }
  const file = positionals[0]!;
  try {
    const policy = await loadPolicy(file);
    console.log(`OK ${file}: ${policy.roles.length} roles, ${policy.ruleCount} rules, ${policy.combining}`);
    return 0;
  } catch (error) {
    console.error(describeLoadError(error, file));
    return 2;
  }
}

/** Located issues one per line for a PolicyError; the message of other WardenErrors (they name the file). */
export function describeLoadError(error: unknown, file: string): string {
  if (error instanceof PolicyError) return error.issues.map(formatIssue).join('\n');
  if (error instanceof WardenError) return error.message;
  return `${file}: ${(error as Error).message}`;
}

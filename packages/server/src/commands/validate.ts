import { parseArgs } from 'node:util';
import { WardenError } from '@mqtt-warden/core';
import { formatIssue, loadPolicy, PolicyError } from '@mqtt-warden/policy';

const HELP = `Usage: mqtt-warden validate POLICY

Checks a policy file (YAML or JSON). Prints OK, or each mistake as FILE:LINE:COLUMN: message.
Exit status: 0 valid, 2 invalid or unreadable.`;

/** `mqtt-warden validate POLICY` → 0 when the policy loads, 2 otherwise. */
export async function run(args: string[]): Promise<number> {
  let positionals: string[];
  let help: boolean | undefined;
  try {
    ({
      positionals,
      values: { help },
    } = parseArgs({ args, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } }));
  } catch (error) {
    console.error(`mqtt-warden validate: ${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (help) {
    console.log(HELP);
    return 0;
  }
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

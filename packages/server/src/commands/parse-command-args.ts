import { type ParseArgsConfig, parseArgs } from 'node:util';

/** A command's `parseArgs` config, without the arguments themselves. */
export type CommandArgsConfig = Omit<ParseArgsConfig, 'args'>;

/** What `parseArgs` returns for a command's config: `values` typed from its options. */
export type CommandArgs<T extends CommandArgsConfig> = ReturnType<typeof parseArgs<T & { args: string[] }>>;

/** Where a command prints; tests pass their own streams (see `CommandIo`). Without it: the console. */
export interface CommandOutput {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/**
 * The preamble every command shares: parses `args`, prints `mqtt-warden COMMAND: <error>` and the help on
 * a parse error (exit code 2), prints the help for `--help` (exit code 0). Returns the parsed arguments,
 * or the exit code when the command is done.
 *
 * @example
 * const parsed = parseCommandArgs('export', HELP, args, { options, allowPositionals: true });
 * if (typeof parsed === 'number') return parsed;
 * const { values, positionals } = parsed;
 */
export function parseCommandArgs<const T extends CommandArgsConfig>(
  command: string,
  help: string,
  args: string[],
  config: T,
  io?: CommandOutput,
): CommandArgs<T> | number {
  let parsed: CommandArgs<T>;
  try {
    parsed = parseArgs({ ...config, args });
  } catch (error) {
    const message = `mqtt-warden ${command}: ${(error as Error).message}\n\n${help}`;
    if (io) io.stderr.write(`${message}\n`);
    else console.error(message);
    return 2;
  }
  if ((parsed.values as { help?: boolean }).help) {
    if (io) io.stdout.write(`${help}\n`);
    else console.log(help);
    return 0;
  }
  return parsed;
}

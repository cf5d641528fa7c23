/** Each command lives in ./commands/NAME.js and exports `run(args) → exit code`; loaded on demand. */
const COMMANDS: Record<string, string> = {
  init: 'write a starter config, policy and users file to edit: mqtt-warden init [DIR]',
  serve: 'run the HTTP auth server for EMQX, go-auth and RabbitMQ: mqtt-warden serve [--config FILE]',
  validate: 'check a policy file: mqtt-warden validate POLICY',
  check: 'decide one request: mqtt-warden check --policy POLICY --username U --client-id C --publish TOPIC',
  test: 'run policy test suites: mqtt-warden test SUITE... [--junit FILE]',
  passwd: 'set or delete a user in a users file or Mosquitto password_file: mqtt-warden passwd FILE USERNAME',
  hash: 'print the argon2id hash of a password read from stdin: mqtt-warden hash',
  import: 'import ACLs as a policy: mqtt-warden import mosquitto-acl|dynsec|go-auth-acl FILE --out POLICY',
  migrate: 'apply the registry schema migrations in PostgreSQL: mqtt-warden migrate --config FILE',
  store: 'registry maintenance: mqtt-warden store rotate-key --config FILE',
};

const USAGE = `Usage: mqtt-warden <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, help]) => `  ${name.padEnd(10)} ${help}`)
  .join('\n')}

Run "mqtt-warden <command> --help" for a command's options, "mqtt-warden --version" for the version.`;

/**
 * Runs one `mqtt-warden` command and resolves to its exit code (0 ok, 1 a failed check, 2 usage error).
 * Importing this module runs nothing; the installed command is `bin.ts`.
 *
 * @example
 * ```ts
 * process.exitCode = await main(['validate', 'policy.yaml']);
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined) {
    console.error(USAGE);
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    console.log(await version());
    return 0;
  }
  if (!Object.hasOwn(COMMANDS, name)) {
    console.error(`mqtt-warden: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  const command: { run(args: string[]): Promise<number> } = await import(`./commands/${name}.js`);
  return command.run(args);
}

/** The server package's version (src/ and dist/ both sit one level below package.json). */
async function version(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const manifest = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
  return String(manifest.version);
}

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { hashPassword, parseUsersFile, setUserPassword } from '@mqtt-warden/password';
import { CONFIG_SCHEMA_FILE } from '../config-reference.js';
import { parseCommandArgs } from './parse-command-args.js';
import { QUICKSTART_DIR } from './serve.js';

const HELP = `Usage: mqtt-warden init [DIR]

Writes a starter warden.yaml, policy.yaml and users.yaml into DIR (default: the current directory),
to edit and then run with "mqtt-warden serve --config DIR/warden.yaml". The users get fresh random
passwords, printed once. Refuses to overwrite: nothing is written when any of the three files exists.

Exit status: 0 written, 1 a file exists already, 2 usage or write error.`;

const FILES = ['warden.yaml', 'policy.yaml', 'users.yaml'] as const;

/** `mqtt-warden init [DIR]` → 0 written, 1 a file exists, 2 usage or write error. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('init', HELP, args, {
    allowPositionals: true,
    options: { help: { type: 'boolean', short: 'h' } },
  });
  if (typeof parsed === 'number') return parsed;
  const { positionals } = parsed;
  if (positionals.length > 1) {
    console.error(`mqtt-warden init: give at most one directory\n\n${HELP}`);
    return 2;
  }
  const dir = positionals[0] ?? '.';
  const [config, policy, quickstartUsers] = await Promise.all(
    FILES.map((name) => readFile(join(QUICKSTART_DIR, name), 'utf8')),
  );
  const { text: users, passwords } = await freshUsers(quickstartUsers!);
  const contents: Record<(typeof FILES)[number], string> = {
    'warden.yaml': config!.replace(/^#.*\n(#.*\n)*/, starterHeader(dir)),
    'policy.yaml': policy!,
    'users.yaml': users,
  };
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    console.error(`mqtt-warden init: cannot create ${dir} (${(error as NodeJS.ErrnoException).code})`);
    return 2;
  }
  const written: string[] = [];
  for (const name of FILES) {
    const file = join(dir, name);
    try {
      // 'wx': never replace a file, even one created since the check of the previous file.
      await writeFile(file, contents[name], { flag: 'wx', mode: name === 'users.yaml' ? 0o600 : 0o644 });
      written.push(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const kept = written.length
        ? ` (${written.join(', ')} written before it; delete them to start again)`
        : '';
      console.error(
        code === 'EEXIST'
          ? `mqtt-warden init: ${file} exists already; nothing of it was changed${kept}. Choose another directory: mqtt-warden init DIR`
          : `mqtt-warden init: cannot write ${file} (${code})${kept}`,
      );
      return code === 'EEXIST' ? 1 : 2;
    }
  }
  const shown = dir;
  console.log(`wrote ${written.join(', ')}

Users and their passwords (shown only now):
${passwords.map(([user, password]) => `  ${user.padEnd(10)} ${password}`).join('\n')}

Next:
  1. edit ${join(shown, 'policy.yaml')} (who may publish and subscribe where), then check it:
       mqtt-warden validate ${join(shown, 'policy.yaml')}
  2. set your users' passwords: mqtt-warden passwd ${join(shown, 'users.yaml')} USERNAME
  3. start the server: mqtt-warden serve --config ${join(shown, 'warden.yaml')}
     and point the broker at it (README: EMQX, Mosquitto go-auth, RabbitMQ).`);
  return 0;
}

/** The config's first lines: the JSON Schema of the installed package (for editors), and how to run it. */
function starterHeader(dir: string): string {
  const schema = relative(resolve(dir), join(QUICKSTART_DIR, '..', CONFIG_SCHEMA_FILE)).replaceAll('\\', '/');
  return `# yaml-language-server: $schema=${schema}
# mqtt-warden server config, written by "mqtt-warden init". Run it with:
#   mqtt-warden serve --config warden.yaml
# Every key: https://github.com/mqtt-warden/mqtt-warden/blob/main/docs/config-reference.md
`;
}

/** The quickstart users with a new random password each (never the documented demo passwords). */
async function freshUsers(text: string): Promise<{ text: string; passwords: [string, string][] }> {
  let out = text.replace(
    /^#.*\n(#.*\n)*/,
    '# Users written by "mqtt-warden init" with random passwords. Change one: mqtt-warden passwd users.yaml USERNAME\n',
  );
  const passwords: [string, string][] = [];
  for (const { username } of parseUsersFile(text, 'yaml', 'users.yaml')) {
    const password = randomBytes(15).toString('base64url');
    out = setUserPassword(out, 'yaml', username, await hashPassword(password), new Date());
    passwords.push([username, password]);
  }
  return { text: out, passwords };
}

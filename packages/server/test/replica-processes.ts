/**
 * Real `mqtt-warden serve` processes for the multi-replica tests: start and stop them by PID, ask their
 * EMQX endpoints, run the CLI, and measure how long a change takes to show.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built command, as `mqtt-warden` runs it. */
export const CLI = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
export const DATABASE = process.env.WARDEN_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface Replica {
  readonly name: string;
  /** The auth listener (EMQX, go-auth, RabbitMQ endpoints). */
  readonly url: string;
  /** The admin listener's origin (without `/admin/v1`), when the config has `admin:` and `store:`. */
  readonly adminUrl?: string;
  readonly child: ChildProcess;
  readonly output: () => string;
}

/**
 * Starts `serve --config FILE --port 0` and waits (up to 60 s) for its listening line, and for its admin
 * API line when `admin` is set.
 */
export async function startReplica(name: string, config: string, { admin = false } = {}): Promise<Replica> {
  const child = spawn(process.execPath, [CLI, 'serve', '--config', config, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const started = admin
    ? /mqtt-warden listening on (http:\/\/\S+)[\s\S]*admin API on (http:\/\/\S+)\/admin\/v1/
    : /mqtt-warden listening on (http:\/\/\S+)/;
  const [, url = '', adminUrl] = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${output}`)), 60_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = started.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('exit', (code) => reject(new Error(`${name} exited ${code}: ${output}`)));
  });
  return { name, url, ...(adminUrl ? { adminUrl } : {}), child, output: () => output };
}

/** Stops a replica by its PID: SIGTERM, then SIGKILL after 15 s (reported: a clean stop is expected). */
export async function stopReplica(replica: Replica): Promise<void> {
  const { child } = replica;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    console.error(`${replica.name} did not stop on SIGTERM:\n${replica.output().slice(-3000)}`);
    child.kill('SIGKILL');
  }, 15_000);
  await exited;
  clearTimeout(timer);
}

/** The `result` of an EMQX HTTP request, or `no answer` when there was none within 10 s. */
async function post(replica: Replica, path: string, payload: object): Promise<string> {
  try {
    const response = await fetch(`${replica.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(10_000),
    });
    return ((await response.json()) as { result: string }).result;
  } catch {
    return 'no answer';
  }
}

/** EMQX's authentication request for a device whose username and client id are its id. */
export const login = (replica: Replica, id: string, password: string) =>
  post(replica, '/emqx/authn', { username: id, password, clientid: id });

/** EMQX's authorization request: may the device publish to `devices/<id>/t`? */
export const authz = (replica: Replica, id: string) =>
  post(replica, '/emqx/authz', { username: id, clientid: id, topic: `devices/${id}/t`, action: 'publish' });

/** Milliseconds until `check` holds, polling every 5 ms; fails after `limitMs`. */
export async function until(check: () => Promise<boolean>, limitMs: number): Promise<number> {
  const start = performance.now();
  while (!(await check())) {
    if (performance.now() - start > limitMs) throw new Error(`not within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return performance.now() - start;
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `mqtt-warden ARGS` (60 s at most), resolving with its exit code and output. */
export function runCli(
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: options.cwd, env: { ...process.env, ...options.env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Drops a test's schema and everything in it. */
export function dropSchema(schema: string): void {
  execFileSync('psql', [DATABASE, '-q', '-c', `drop schema if exists ${schema} cascade`], { stdio: 'pipe' });
}

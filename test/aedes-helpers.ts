/** Helpers for the root Aedes wire tests: an HS256 signer and Debian's mosquitto clients. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';

/** An HS256 JWT, signed here with node:crypto so the verifier under test is checked independently. */
export function signHs256(payload: Record<string, unknown>, secret: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signed = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(payload)}`;
  return `${signed}.${createHmac('sha256', secret).update(signed).digest('base64url')}`;
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion (killed after `timeoutMs`). */
export function run(command: string, args: string[], timeoutMs = 10_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A running `mosquitto_sub -d -v`: resolves once its SUBACK arrived; `messages` are `topic payload` lines. */
export interface RunningSub {
  readonly process: ChildProcess;
  readonly messages: string[];
  /** Debug lines, including `Subscribed (mid: 1): 0, 128` with the granted codes of the SUBACK. */
  readonly debug: string[];
  readonly exited: Promise<number | null>;
}

export function mosquittoSub(args: string[]): Promise<RunningSub> {
  const child = spawn('stdbuf', ['-oL', 'mosquitto_sub', '-d', '-v', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const messages: string[] = [];
  const debug: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(
      () => reject(new Error(`mosquitto_sub got no SUBACK: ${debug.join('\n')}`)),
      10_000,
    );
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('Client ') || line.startsWith('Subscribed (')) debug.push(line);
        else messages.push(line);
        if (/Subscribed \(mid: \d+\)/.test(line)) {
          clearTimeout(timer);
          resolve({ process: child, messages, debug, exited });
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => debug.push(chunk.toString()));
    child.once('exit', () => {
      clearTimeout(timer);
      resolve({ process: child, messages, debug, exited });
    });
  });
}

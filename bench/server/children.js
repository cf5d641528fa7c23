// The servers under test, each in its own child process with bench/server/cpu-probe.js preloaded: the bare
// node:http baseline, and the real `mqtt-warden serve` bin on a config file. BENCH_PROF=DIR: each child
// writes a V8 CPU profile there when it stops (wall time: a thread the scheduler preempts keeps the sample
// where it stopped, mostly a socket write that woke the load generator). BENCH_PERF=1: each child runs with
// --perf-basic-prof and its PID is printed, for `perf record -F 2000 -g -p PID` (on-CPU samples only).
// pinServers(cpu): every server started afterwards runs on that CPU alone (through taskset, so all its
// threads from the start).
import { fork } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PROBE = new URL('./cpu-probe.js', import.meta.url).href;
const BARE = fileURLToPath(new URL('./bare-server.js', import.meta.url));
const BIN = fileURLToPath(new URL('../../packages/server/dist/bin.js', import.meta.url));
let pinnedCpu;

/** Servers started from now on run on CPU `cpu` only (`taskset -c`); undefined: anywhere. */
export function pinServers(cpu) {
  pinnedCpu = cpu;
}

/** The bare node:http server; `parse`: it also parses each body (see bare-server.js). */
export function startBare({ parse = false } = {}) {
  return parse ? start('bare + parse', BARE, ['--parse']) : start('bare node:http', BARE, []);
}

/** `mqtt-warden serve --config FILE`, as an operator starts it. */
export function startWarden(config) {
  return start('mqtt-warden', BIN, ['serve', '--config', config]);
}

/** A child's CPU time (µs, user + system, all threads) and RSS (bytes) now. */
export function probe({ proc }) {
  return new Promise((resolve) => {
    const onMessage = (message) => {
      if (!message?.probe) return;
      proc.off('message', onMessage);
      resolve({ cpuUs: message.probe.cpu.user + message.probe.cpu.system, rss: message.probe.rss });
    };
    proc.on('message', onMessage);
    proc.send('probe');
  });
}

export async function stop({ proc }) {
  if (proc.exitCode !== null) return;
  proc.removeAllListeners('exit');
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGTERM');
  await exited;
}

function start(name, script, args) {
  return new Promise((resolve, reject) => {
    const execArgv = [
      '--import',
      PROBE,
      ...(process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : []),
      // (it also makes V8 write a code log: into the temp dir, not the working tree)
      ...(process.env.BENCH_PERF
        ? [
            '--perf-basic-prof',
            '--no-logfile-per-isolate',
            `--logfile=${join(tmpdir(), 'mqtt-warden-bench-v8.log')}`,
          ]
        : []),
    ];
    // taskset execs node in place, so the IPC channel fork() sets up still reaches it.
    const pinned =
      pinnedCpu === undefined
        ? { execArgv }
        : { execPath: 'taskset', execArgv: ['-c', String(pinnedCpu), process.execPath, ...execArgv] };
    const proc = fork(script, args, { ...pinned, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let out = '';
    const early = (code) => reject(new Error(`${name} exited with ${code} before listening:\n${out}`));
    const onData = (chunk) => {
      out += chunk;
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      if (!url) return;
      proc.stdout.off('data', onData);
      proc.stdout.resume(); // keep draining what it prints later
      proc.off('exit', early);
      // A server that dies mid-run must end the bench, not leave it waiting for a probe.
      proc.once('exit', (code) => {
        console.error(`${name} exited with ${code} during the bench`);
        process.exit(1);
      });
      if (process.env.BENCH_PERF) console.error(`${name}: PID ${proc.pid}`);
      resolve({ name, proc, url });
    };
    proc.stdout.setEncoding('utf8').on('data', onData);
    proc.once('exit', early);
  });
}

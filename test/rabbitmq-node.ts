/**
 * A private RabbitMQ node for tests: its own name, ports, epmd, config, plugins and data in a directory
 * (reference/rabbitmq.md §5), bound to loopback, started with the upstream scripts and stopped by PID.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const RABBIT_BIN = '/usr/lib/rabbitmq/bin';

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RabbitPorts {
  readonly amqp: number;
  readonly mqtt: number;
  /** The management plugin's HTTP listener (used when the plugin is enabled). */
  readonly management: number;
}

export interface RabbitNode {
  readonly ports: RabbitPorts;
  /** The environment the node's CLI tools need (same HOME, epmd port, node name). */
  readonly env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/**
 * Starts a node in `dir` with the given `rabbitmq.conf` (built from this run's ports) and plugins, and
 * waits until it and its plugins run (up to two minutes on a loaded machine).
 */
export async function startRabbitNode(options: {
  readonly dir: string;
  readonly conf: (ports: RabbitPorts) => string;
  readonly plugins: readonly string[];
}): Promise<RabbitNode> {
  const { dir } = options;
  for (const sub of ['data', 'log', 'home']) mkdirSync(join(dir, sub), { recursive: true });
  const ports = { amqp: await freePort(), mqtt: await freePort(), management: await freePort() };
  const [distPort, epmdPort] = [await freePort(), await freePort()];
  writeFileSync(join(dir, 'rabbitmq.conf'), options.conf(ports));
  writeFileSync(join(dir, 'enabled_plugins'), `[${options.plugins.join(',')}].\n`);
  writeFileSync(join(dir, 'rabbitmq-env.conf'), '');
  const env = {
    ...process.env,
    RABBITMQ_NODENAME: `wardentest${process.pid}x${ports.amqp}@localhost`,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(ports.amqp),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_MNESIA_BASE: join(dir, 'data'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_PID_FILE: join(dir, 'node.pid'),
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    ERL_EPMD_PORT: String(epmdPort),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    HOME: join(dir, 'home'),
  };
  const epmd: ChildProcess = spawn('epmd', ['-port', String(epmdPort), '-address', '127.0.0.1'], {
    env,
    stdio: 'ignore',
  });
  const rabbit: ChildProcess = spawn(join(RABBIT_BIN, 'rabbitmq-server'), [], { env, stdio: 'ignore' });
  const stop = async () => {
    const pidFile = join(dir, 'node.pid');
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      try {
        process.kill(pid, 'SIGTERM');
        // The beam process exits in about a second; wait for it so the data dir is released.
        for (let i = 0; i < 100; i++) {
          process.kill(pid, 0);
          await new Promise((r) => setTimeout(r, 100));
        }
      } catch {
        // gone
      }
    }
    rabbit.kill('SIGTERM');
    epmd.kill('SIGTERM');
  };
  try {
    await run(join(RABBIT_BIN, 'rabbitmqctl'), ['wait', join(dir, 'node.pid'), '--timeout', '120'], {
      env,
      timeout: 130_000,
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { ports, env, stop };
}

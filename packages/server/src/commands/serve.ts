import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WardenError } from '@mqtt-warden/core';
import { loadServerConfig, type ServerConfig } from '../server-config.js';
import { createWardenServer } from '../warden-server.js';

/**
 * The embedded defaults shipped in the package (quickstart/, copied from the repository's
 * examples/quickstart at build and pack time): a policy, a users file and the config that ties them together.
 */
export const QUICKSTART_DIR = fileURLToPath(new URL('../../quickstart/', import.meta.url));
export const QUICKSTART_CONFIG = join(QUICKSTART_DIR, 'warden.yaml');

const HELP = `Usage: mqtt-warden serve [--config FILE] [--port PORT] [--host HOST]

Starts the HTTP auth server for EMQX, mosquitto-go-auth and RabbitMQ.
Without --config it runs on the quickstart policy and users shipped with the package
(demo users: write your own with "mqtt-warden init DIR").
The listen address is, by precedence: --port/--host, the MQTT_WARDEN_PORT/MQTT_WARDEN_HOST
environment variables, the config's listen block, 127.0.0.1:8080.
SIGHUP reloads the policy, credential, device key and CRL files; SIGINT/SIGTERM shut down gracefully.
The config format is described in packages/server/README.md.

Exit status: 0 after SIGINT/SIGTERM, 1 when the server cannot listen or close cleanly,
2 usage error or a config, policy or credential file that cannot load.`;

/** `mqtt-warden serve`: runs until SIGINT/SIGTERM. Returns the exit code. */
export async function run(args: string[]): Promise<number> {
  let values: { config?: string; port?: string; host?: string; help?: boolean };
  let listen: { port?: number; host?: string };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        config: { type: 'string', short: 'c' },
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
    listen = listenOverrides(values, process.env);
  } catch (error) {
    console.error(`mqtt-warden serve: ${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const file = values.config ?? QUICKSTART_CONFIG;
  let server: Awaited<ReturnType<typeof createWardenServer>>;
  let url: string;
  let tokens: ServerConfig['deviceTokens'];
  try {
    const loaded = await loadServerConfig(file);
    const config = { ...loaded, listen: { ...loaded.listen, ...listen } };
    tokens = config.deviceTokens?.enabled ? config.deviceTokens : undefined;
    server = await createWardenServer(config);
  } catch (error) {
    return failed(error, 2);
  }
  try {
    url = await server.listen();
  } catch (error) {
    await server.close().catch(() => {});
    return failed(error, 1);
  }
  console.log(`mqtt-warden listening on ${url} (config ${file})`);
  if (server.operations) console.log(`metrics, /healthz and /readyz on ${server.operations.listeningOrigin}`);
  if (tokens) console.log(`device tokens: POST ${url}${tokens.path}, keys at ${url}${tokens.jwksPath}`);
  if (values.config === undefined) {
    console.log(
      // Authorization answers for a session that authenticated through this server: log in first.
      `try: curl -s -X POST ${url}/emqx/authn -H 'content-type: application/json' -d '{"username":"demo","password":"demo-password","clientid":"demo"}'; echo; curl -s -X POST ${url}/emqx/authz -H 'content-type: application/json' -d '{"username":"demo","clientid":"demo","action":"publish","topic":"devices/demo/temp"}'`,
    );
  }
  return new Promise<number>((resolve) => {
    const reload = () => void server.reload();
    const stop = (signal: string) => {
      server.app.log.info({ signal }, 'shutting down');
      process.off('SIGHUP', reload);
      const exit = (code: number) => {
        // A client library's stray timer (a database reconnect) must not keep a stopped server alive.
        setTimeout(() => process.exit(code), 2_000).unref();
        resolve(code);
      };
      server.close().then(
        () => exit(0),
        () => exit(1),
      );
    };
    process.on('SIGHUP', reload);
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

/** --port/--host, else MQTT_WARDEN_PORT/MQTT_WARDEN_HOST; throws a usage error for a port that is not one. */
export function listenOverrides(
  flags: { port?: string; host?: string },
  env: NodeJS.ProcessEnv,
): { port?: number; host?: string } {
  const overrides: { port?: number; host?: string } = {};
  const port = flags.port ?? env.MQTT_WARDEN_PORT;
  if (port !== undefined && port !== '') {
    const from = flags.port !== undefined ? '--port' : 'MQTT_WARDEN_PORT';
    if (!/^\d{1,5}$/.test(port) || Number(port) > 65_535) {
      throw new Error(`${from} must be a port number from 0 to 65535, not ${JSON.stringify(port)}`);
    }
    overrides.port = Number(port);
  }
  const host = flags.host ?? env.MQTT_WARDEN_HOST;
  if (host !== undefined && host !== '') overrides.host = host;
  return overrides;
}

function failed(error: unknown, code: number): number {
  console.error(`mqtt-warden serve: ${error instanceof WardenError ? error.message : String(error)}`);
  return code;
}

// A runnable Aedes broker guarded by mqtt-warden: TLS (certificates made with openssl at first start),
// password logins from users.yaml, JWT logins (HS256, secret in certs/jwt-secret), policy.yaml watched.
// Run: pnpm build && node examples/aedes/broker.js   (PORT=8883 by default)
// In your own project, import from '@mqtt-warden/aedes', '@mqtt-warden/core', … instead of dist paths.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Aedes } from 'aedes';
import { attachGuard } from '../../packages/aedes/dist/index.js';
import { createGuard } from '../../packages/core/dist/index.js';
import { createJwtAuthenticator } from '../../packages/jwt/dist/index.js';
import { createPasswordAuthenticator, openFileStore } from '../../packages/password/dist/index.js';
import { watchPolicy } from '../../packages/policy/dist/index.js';

const here = fileURLToPath(new URL('.', import.meta.url));

/**
 * Starts the broker. `certs` is where the CA, server certificate and JWT secret live (created if absent).
 * Resolves with `{ port, close() }`.
 */
export async function startBroker({ port = 8883, host = '127.0.0.1', certs = join(here, 'certs') } = {}) {
  const tls = ensureCertificates(certs);
  const jwtSecret = ensureSecret(join(certs, 'jwt-secret'));
  const policy = await watchPolicy(join(here, 'policy.yaml'), {
    onError: (error) => console.error(`policy.yaml not reloaded: ${error.message}`),
    onReload: () => console.log('policy.yaml reloaded'),
  });
  const users = await openFileStore({ path: join(here, 'users.yaml') });
  const guard = createGuard({
    authenticators: [
      // A JWT in the password field; anything else is left to the password check.
      createJwtAuthenticator({
        keys: { secret: jwtSecret },
        audience: 'mqtt',
        bind: { claim: 'sub', to: 'clientId' },
      }),
      createPasswordAuthenticator({ store: users }),
    ],
    authorizer: policy,
    audit: (event) => {
      if (!event.allowed)
        console.log(
          `denied ${event.type} ${event.clientId} ${event.type === 'authorize' ? `${event.action} ${event.topic}` : event.reason}`,
        );
    },
  });

  const broker = await Aedes.createBroker();
  attachGuard(broker, guard);
  const server = createServer({ key: tls.key, cert: tls.cert }, broker.handle);
  await new Promise((resolve) => server.listen(port, host, resolve));
  return {
    port: server.address().port,
    ca: tls.ca,
    async close() {
      await new Promise((resolve) => broker.close(resolve));
      await new Promise((resolve) => server.close(resolve));
      policy.close();
      guard.close();
    },
  };
}

function ensureCertificates(dir) {
  const file = (name) => join(dir, name);
  if (!existsSync(file('server.pem'))) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const openssl = (...args) => execFileSync('openssl', args, { stdio: 'pipe' });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    openssl(
      'req',
      '-x509',
      ...ec,
      '-days',
      '825',
      '-subj',
      '/CN=mqtt-warden example CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-keyout',
      file('ca.key'),
      '-out',
      file('ca.pem'),
    );
    openssl(
      'req',
      ...ec,
      '-subj',
      '/CN=localhost',
      '-keyout',
      file('server.key'),
      '-out',
      file('server.csr'),
    );
    writeFileSync(
      file('server.ext'),
      'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n',
    );
    openssl(
      'x509',
      '-req',
      '-in',
      file('server.csr'),
      '-CA',
      file('ca.pem'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-days',
      '825',
      '-extfile',
      file('server.ext'),
      '-out',
      file('server.pem'),
    );
    console.log(`created a CA and a server certificate in ${dir} (clients trust ca.pem)`);
  }
  return {
    ca: readFileSync(file('ca.pem'), 'utf8'),
    key: readFileSync(file('server.key'), 'utf8'),
    cert: readFileSync(file('server.pem'), 'utf8'),
  };
}

function ensureSecret(path) {
  if (!existsSync(path)) writeFileSync(path, randomBytes(32).toString('base64url'), { mode: 0o600 });
  return readFileSync(path, 'utf8');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { port } = await startBroker({
    port: Number(process.env.PORT ?? 8883),
    host: process.env.HOST ?? '127.0.0.1',
  });
  console.log(`mqtt-warden Aedes example listening on mqtts://localhost:${port}`);
}

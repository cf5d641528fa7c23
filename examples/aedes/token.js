// Mints a demo JWT for the example broker, signed with certs/jwt-secret (start the broker once first).
// Run: node examples/aedes/token.js CLIENT_ID [ROLE] [TTL_SECONDS]   e.g. node examples/aedes/token.js sensor-2 sensor 3600
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** An HS256 token whose `sub` is the MQTT client id (the broker binds them). */
export function mintToken(secret, clientId, role = 'sensor', ttlSeconds = 3600) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const body = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub: clientId, roles: [role], aud: 'mqtt', iat: now, exp: now + ttlSeconds })}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [clientId, role, ttl] = process.argv.slice(2);
  if (!clientId) {
    console.error('usage: node examples/aedes/token.js CLIENT_ID [ROLE] [TTL_SECONDS]');
    process.exit(2);
  }
  const secret = readFileSync(fileURLToPath(new URL('certs/jwt-secret', import.meta.url)), 'utf8');
  console.log(mintToken(secret, clientId, role, ttl ? Number(ttl) : undefined));
}

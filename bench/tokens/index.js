// Token verification throughput. Run after a build: `pnpm run build && node bench/tokens/index.js`.
// 1. JWT verifications/s through createJwtAuthenticator vs a bare jose jwtVerify with the same key.
// 2. RFC 7662 introspection through createOAuthAuthenticator: warm cache vs cold (every token new).
import { createPublicKey } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { createJwtAuthenticator } from '../../packages/jwt/dist/index.js';
import { createIntrospectionClient, createOAuthAuthenticator } from '../../packages/oauth/dist/index.js';

// jose is a dependency of the jwt package, not of the workspace root.
const require = createRequire(new URL('../../packages/jwt/package.json', import.meta.url));
const { exportJWK, generateKeyPair, jwtVerify, SignJWT } = await import(require.resolve('jose'));

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const DURATION_MS = Number(process.env.DURATION_MS ?? 1_000);

async function rate(fn, offset) {
  const start = performance.now();
  let count = 0;
  while (performance.now() - start < DURATION_MS) {
    for (let i = 0; i < 50; i++) await fn(offset + count + i);
    count += 50;
  }
  return (count * 1000) / (performance.now() - start);
}

const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Median ops/s of each function (awaited sequentially), measured in alternating rounds so that
 * machine load drifts affect both alike.
 */
async function compare(...fns) {
  for (const fn of fns) for (let i = 0; i < 200; i++) await fn(-1 - i); // warm-up
  const results = fns.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (let f = 0; f < fns.length; f++) results[f].push(await rate(fns[f], (r * fns.length + f) * 1e7));
  }
  return results.map(median);
}

const request = (token) => ({
  clientId: 'device-1',
  password: new TextEncoder().encode(token),
  transport: { tls: true },
});

const claims = {
  sub: 'device-1',
  iss: 'https://idp.bench',
  aud: 'mqtt',
  roles: ['sensor'],
  site: 'lyon',
  acl: { pub: ['devices/${clientid}/up'], sub: ['devices/${clientid}/down'] },
};
const exp = Math.floor(Date.now() / 1000) + 3600;
const verifyOptions = { issuer: 'https://idp.bench', audience: 'mqtt' };

const rows = [];
for (const alg of ['ES256', 'RS256', 'HS256']) {
  let signKey;
  let verifyKey;
  let keys;
  if (alg === 'HS256') {
    const secret = new TextEncoder().encode('bench-secret-0123456789abcdef-0123456789');
    signKey = secret;
    verifyKey = secret;
    keys = { secret };
  } else {
    const pair = await generateKeyPair(alg, { extractable: true });
    signKey = pair.privateKey;
    const jwk = await exportJWK(pair.publicKey);
    verifyKey = createPublicKey({ key: jwk, format: 'jwk' });
    keys = { publicKey: jwk };
  }
  const token = await new SignJWT(claims).setProtectedHeader({ alg }).setExpirationTime(exp).sign(signKey);
  const authenticator = createJwtAuthenticator({ keys, algorithms: [alg], ...verifyOptions });
  const check = await authenticator.authenticate(request(token));
  if (check.outcome !== 'allow') throw new Error(`bench token refused: ${JSON.stringify(check)}`);
  const req = request(token);
  const [bare, ours] = await compare(
    () => jwtVerify(token, verifyKey, { algorithms: [alg], ...verifyOptions }),
    () => authenticator.authenticate(req),
  );
  rows.push({
    case: `JWT ${alg}`,
    'bare jose /s': Math.round(bare),
    'authenticator /s': Math.round(ours),
    ratio: (ours / bare).toFixed(2),
  });
}

// Introspection against a local endpoint (no network latency: the cold figure is a best case).
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () =>
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ active: true, sub: 'device-1', scope: 'mqtt:publish:a/b fleet', exp })),
  );
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const endpoint = `http://127.0.0.1:${server.address().port}/introspect`;
const introspection = (cacheTtlMs) =>
  createOAuthAuthenticator({
    introspection: createIntrospectionClient({
      endpoint,
      clientId: 'rs',
      clientSecret: 'rs-secret',
      cacheTtlMs,
      cacheMax: 1_000,
    }),
  });
const warm = introspection(60_000);
const warmReq = request('opaque-token-warm');
const cold = introspection(60_000);
const [warmOps, coldOps] = await compare(
  () => warm.authenticate(warmReq),
  (i) => cold.authenticate(request(`opaque-token-${i}`)),
);
server.close();
rows.push({ case: 'introspection cold (HTTP each)', 'authenticator /s': Math.round(coldOps) });
rows.push({
  case: 'introspection warm (cached)',
  'authenticator /s': Math.round(warmOps),
  ratio: `${(warmOps / coldOps).toFixed(0)}× cold`,
});

console.log(
  `node ${process.version}, ${ROUNDS} alternating rounds × ${DURATION_MS} ms, median; sequential awaits (one core)`,
);
console.table(rows);

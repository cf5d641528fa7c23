// Token verification throughput. Run after a build: `node bench/tokens/index.js` (ROUNDS=40 SLICE_MS=100)
// (JWT_ONLY=1 skips introspection).
// 1. JWT verifications/s through createJwtAuthenticator vs a bare jose jwtVerify (same tokens of a
//    fleet, same claim checks, the key pre-imported as a CryptoKey), in alternating short slices.
// 2. RFC 7662 introspection through createOAuthAuthenticator: warm cache vs cold (every token new).

import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { createIntrospectionClient, createOAuthAuthenticator } from '../../packages/oauth/dist/index.js';

// JWT_DIST=<path of another build's index.js> measures that build instead (before/after comparisons).
const { createJwtAuthenticator } = await import(
  process.env.JWT_DIST ? pathToFileURL(process.env.JWT_DIST).href : '../../packages/jwt/dist/index.js'
);

// jose is a dependency of the jwt package, not of the workspace root.
const require = createRequire(new URL('../../packages/jwt/package.json', import.meta.url));
const { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT } = await import(require.resolve('jose'));

const ROUNDS = Number(process.env.ROUNDS ?? 40);
const SLICE_MS = Number(process.env.SLICE_MS ?? 100);
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/** Ops/s and CPU µs/op (process-wide, so WebCrypto's thread-pool time counts) of `fn` awaited in a loop. */
async function slice(fn, offset) {
  const cpu = process.cpuUsage();
  const start = performance.now();
  let count = 0;
  while (performance.now() - start < SLICE_MS) {
    for (let i = 0; i < 50; i++) await fn(offset + count + i);
    count += 50;
  }
  const elapsed = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { rate: (count * 1000) / elapsed, cpuUs: (used.user + used.system) / count };
}

const quantile = (xs, q) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};
const median = (xs) => quantile(xs, 0.5);
/** `median (p25–p75)` of xs, formatted with `digits` decimals. */
const spread = (xs, digits = 2) =>
  `${median(xs).toFixed(digits)} (${quantile(xs, 0.25).toFixed(digits)}–${quantile(xs, 0.75).toFixed(digits)})`;

/**
 * `a` against `b` in ROUNDS pairs of short slices; the order within a pair alternates (ab, ba, ab…) so
 * neither side always runs first, and each pair's ratio b/a is taken between neighbouring slices, so
 * that load drifts on the shared machine hit both sides of a ratio alike. Returns per-side medians,
 * the per-pair ratios (throughput b/a, and CPU per op a/b: > 1 means b is cheaper) and the CPU µs
 * per op that b adds to a in each pair.
 */
async function compare(a, b) {
  for (let i = 0; i < 500; i++) await a(-1 - i); // warm-up (JIT, key caches)
  for (let i = 0; i < 500; i++) await b(-1 - i);
  const sides = [[], []];
  const rateRatios = [];
  const cpuRatios = [];
  const cpuAdded = [];
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? [0, 1] : [1, 0];
    const pair = [];
    for (const side of order) pair[side] = await slice(side === 0 ? a : b, (r * 2 + side) * 1e7);
    sides[0].push(pair[0]);
    sides[1].push(pair[1]);
    rateRatios.push(pair[1].rate / pair[0].rate);
    cpuRatios.push(pair[0].cpuUs / pair[1].cpuUs);
    cpuAdded.push(pair[1].cpuUs - pair[0].cpuUs);
  }
  const summary = (xs) => ({ rate: median(xs.map((x) => x.rate)), cpuUs: median(xs.map((x) => x.cpuUs)) });
  return { a: summary(sides[0]), b: summary(sides[1]), rateRatios, cpuRatios, cpuAdded };
}

const request = (token, clientId = 'device-1') => ({
  clientId,
  password: new TextEncoder().encode(token),
  transport: { tls: true },
});

// A fleet: every device has its own token (sub = client id) with the same ACL claim, as an IdP
// issues them; both contenders verify the same tokens in the same order.
const DEVICES = Number(process.env.DEVICES ?? 1_000);
const claims = {
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
  let keys;
  // Bare jose gets a CryptoKey imported once: its fastest path (no per-call key import or cache
  // lookup), so the ratio measures everything the authenticator adds, key handling included.
  let verifyKey;
  if (alg === 'HS256') {
    const secret = new TextEncoder().encode('bench-secret-0123456789abcdef-0123456789');
    signKey = secret;
    keys = { secret };
    verifyKey = await crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, [
      'verify',
    ]);
  } else {
    const pair = await generateKeyPair(alg, { extractable: true });
    signKey = pair.privateKey;
    const jwk = await exportJWK(pair.publicKey);
    keys = { publicKey: jwk };
    verifyKey = await importJWK(jwk, alg);
  }
  const tokens = [];
  for (let d = 0; d < DEVICES; d++) {
    const sub = `device-${d}`;
    tokens.push(
      await new SignJWT({ ...claims, sub }).setProtectedHeader({ alg }).setExpirationTime(exp).sign(signKey),
    );
  }
  const requests = tokens.map((token, d) => request(token, `device-${d}`));
  const device = (i) => ((i % DEVICES) + DEVICES) % DEVICES;
  const authenticator = createJwtAuthenticator({
    keys,
    algorithms: [alg],
    ...verifyOptions,
    bind: { claim: 'sub', to: 'clientId' },
  });
  for (const req of requests.slice(0, 3)) {
    const check = await authenticator.authenticate(req);
    if (check.outcome !== 'allow') throw new Error(`bench token refused: ${JSON.stringify(check)}`);
  }
  const bareOptions = { algorithms: [alg], ...verifyOptions };
  const load = loadavg();
  const {
    a: bare,
    b: ours,
    rateRatios,
    cpuRatios,
    cpuAdded,
  } = await compare(
    (i) => jwtVerify(tokens[device(i)], verifyKey, bareOptions),
    (i) => authenticator.authenticate(requests[device(i)]),
  );
  rows.push({
    case: `JWT ${alg}`,
    'bare jose /s': Math.round(bare.rate),
    'authenticator /s': Math.round(ours.rate),
    'ratio (p25–p75)': spread(rateRatios),
    'µs CPU/op bare': bare.cpuUs.toFixed(1),
    'µs CPU/op ours': ours.cpuUs.toFixed(1),
    'CPU ratio bare/ours': spread(cpuRatios),
    'µs CPU added/op': spread(cpuAdded, 1),
    loadavg: `${load} → ${loadavg()}`,
  });
}

if (process.env.JWT_ONLY !== '1') await introspectionRows();

// Introspection against a local endpoint (no network latency: the cold figure is a best case).
async function introspectionRows() {
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
  const load = loadavg();
  const { a: warmSide, b: coldSide } = await compare(
    () => warm.authenticate(warmReq),
    (i) => cold.authenticate(request(`opaque-token-${i}`)),
  );
  const [warmOps, coldOps] = [warmSide.rate, coldSide.rate];
  server.close();
  rows.push({
    case: 'introspection cold (HTTP each)',
    'authenticator /s': Math.round(coldOps),
    loadavg: `${load} → ${loadavg()}`,
  });
  rows.push({
    case: 'introspection warm (cached)',
    'authenticator /s': Math.round(warmOps),
    'ratio (p25–p75)': `${(warmOps / coldOps).toFixed(0)}× cold`,
  });
}

console.log(
  `node ${process.version}, ${ROUNDS} pairs of ${SLICE_MS} ms slices (order alternating), medians (p25–p75 of per-pair ratios); sequential awaits`,
);
console.table(rows);

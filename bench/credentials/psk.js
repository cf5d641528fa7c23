// PSK device token (Azure IoT Hub SAS) verifications/s.
// Run after a build: `pnpm run build && node bench/credentials/psk.js` (ROUNDS, DURATION_MS tune it).
import {
  createSasToken,
  createSasTokenAuthenticator,
  generatePskKey,
  PskStore,
  verifySasToken,
} from '../../packages/psk/dist/index.js';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const DURATION_MS = Number(process.env.DURATION_MS ?? 1_000);

/** Median ops/s of `fn` (awaited sequentially) over ROUNDS rounds of DURATION_MS. */
async function opsPerSecond(fn) {
  for (let i = 0; i < 1000; i++) await fn(i); // warm-up
  const results = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = performance.now();
    let count = 0;
    while (performance.now() - start < DURATION_MS) {
      for (let i = 0; i < 100; i++) await fn(count + i);
      count += 100;
    }
    results.push((count * 1000) / (performance.now() - start));
  }
  results.sort((a, b) => a - b);
  return results[Math.floor(results.length / 2)];
}

const hostName = 'bench.azure-devices.net';
const store = new PskStore();
const tokens = [];
for (let i = 0; i < 1000; i++) {
  const deviceId = `device-${i}`;
  const key = generatePskKey();
  store.set(deviceId, key);
  tokens.push({ deviceId, token: createSasToken({ hostName, deviceId, key, ttlSeconds: 3600 }) });
}
const options = { hostName, getKey: (id) => store.get(id) };
const authenticator = createSasTokenAuthenticator(options);
const requests = tokens.map(({ deviceId, token }) => ({
  clientId: deviceId,
  password: new TextEncoder().encode(token),
  transport: { tls: true },
}));

const rows = [
  {
    operation: 'createSasToken',
    'ops/s': await opsPerSecond((i) =>
      createSasToken({
        hostName,
        deviceId: `device-${i % 1000}`,
        key: store.get(`device-${i % 1000}`),
        ttlSeconds: 3600,
      }),
    ),
  },
  {
    operation: 'verifySasToken',
    'ops/s': await opsPerSecond((i) => verifySasToken(tokens[i % 1000].token, options)),
  },
  {
    operation: 'sas-token authenticator',
    'ops/s': await opsPerSecond(async (i) => {
      if ((await authenticator.authenticate(requests[i % 1000])).outcome !== 'allow')
        throw new Error('bench token refused');
    }),
  },
];
console.log(
  `SAS device tokens (HMAC-SHA256, 1,000 devices), Node ${process.version}, median of ${ROUNDS} × ${DURATION_MS} ms`,
);
console.table(rows.map((row) => ({ ...row, 'ops/s': Math.round(row['ops/s']) })));

// PSK device token (Azure IoT Hub SAS) verifications/s.
// Run after a build: `pnpm run build && node bench/credentials/psk.js` (ROUNDS, DURATION_MS tune it).
import {
  createSasToken,
  createSasTokenAuthenticator,
  generatePskKey,
  PskStore,
  verifySasToken,
} from '../../packages/psk/dist/index.js';
import { DURATION_MS, opsPerSecond, ROUNDS } from './ops-per-second.js';

const LOOP = { warmup: 1000, batch: 100 };

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
    'ops/s': await opsPerSecond(
      (i) =>
        createSasToken({
          hostName,
          deviceId: `device-${i % 1000}`,
          key: store.get(`device-${i % 1000}`),
          ttlSeconds: 3600,
        }),
      LOOP,
    ),
  },
  {
    operation: 'verifySasToken',
    'ops/s': await opsPerSecond((i) => verifySasToken(tokens[i % 1000].token, options), LOOP),
  },
  {
    operation: 'sas-token authenticator',
    'ops/s': await opsPerSecond(async (i) => {
      if ((await authenticator.authenticate(requests[i % 1000])).outcome !== 'allow')
        throw new Error('bench token refused');
    }, LOOP),
  },
];
console.log(
  `SAS device tokens (HMAC-SHA256, 1,000 devices), Node ${process.version}, median of ${ROUNDS} × ${DURATION_MS} ms`,
);
console.table(rows.map((row) => ({ ...row, 'ops/s': Math.round(row['ops/s']) })));

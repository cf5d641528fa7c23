// Client certificate chain verifications/s, cached vs uncached.
// Run after a build: `pnpm run build && node bench/credentials/x509.js` (ROUNDS, DURATION_MS tune it).
// Chain: device leaf + intermediate sent by the client, root as trust anchor (two signature checks).
import { webcrypto } from 'node:crypto';
import { createRequire } from 'node:module';
import {
  CrlSource,
  createCertificateVerifier,
  createX509Authenticator,
} from '../../packages/x509/dist/index.js';
import { DURATION_MS, opsPerSecond, ROUNDS } from './ops-per-second.js';

// @peculiar/x509 (to generate the test PKI) is a dependency of the x509 package, not of the workspace root.
const require = createRequire(new URL('../../packages/x509/package.json', import.meta.url));
require('reflect-metadata');
const x509 = require('@peculiar/x509');
x509.cryptoProvider.set(webcrypto);

const LOOP = { warmup: 100, batch: 20 };

const ALGORITHMS = {
  'ECDSA P-256': { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' },
  'RSA 2048': {
    name: 'RSASSA-PKCS1-v1_5',
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: 'SHA-256',
  },
};

async function pki(alg) {
  const keys = () => webcrypto.subtle.generateKey(alg, false, ['sign', 'verify']);
  const base = {
    signingAlgorithm: alg,
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + 86_400_000),
  };
  const caExtensions = [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  ];
  const rootKeys = await keys();
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    ...base,
    name: 'CN=Bench Root',
    keys: rootKeys,
    extensions: caExtensions,
  });
  const interKeys = await keys();
  const inter = await x509.X509CertificateGenerator.create({
    ...base,
    subject: 'CN=Bench Devices',
    issuer: root.subject,
    publicKey: interKeys.publicKey,
    signingKey: rootKeys.privateKey,
    extensions: caExtensions,
  });
  const leafKeys = await keys();
  const leaf = await x509.X509CertificateGenerator.create({
    ...base,
    subject: 'CN=device-1',
    issuer: inter.subject,
    publicKey: leafKeys.publicKey,
    signingKey: interKeys.privateKey,
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ],
  });
  // CRLs with 1,000 revoked serials each, so the lookup is not trivially empty.
  const revoked = Array.from({ length: 1000 }, (_, i) => ({ serialNumber: (0x100000 + i).toString(16) }));
  const crl = (issuer, signingKey) =>
    x509.X509CrlGenerator.create({
      issuer: issuer.subject,
      nextUpdate: new Date(Date.now() + 3600_000),
      entries: revoked,
      signingAlgorithm: alg,
      signingKey,
    });
  const crls = await CrlSource.create({
    crls: [
      (await crl(root, rootKeys.privateKey)).toString('pem'),
      (await crl(inter, interKeys.privateKey)).toString('pem'),
    ],
    refreshIntervalMs: 0,
  });
  return {
    anchor: root.toString('pem'),
    chain: [new Uint8Array(leaf.rawData), new Uint8Array(inter.rawData)],
    crls,
  };
}

const rows = [];
for (const [label, alg] of Object.entries(ALGORITHMS)) {
  const { anchor, chain, crls } = await pki(alg);
  const uncached = createCertificateVerifier({ trustAnchors: [anchor], cache: false });
  const uncachedCrl = createCertificateVerifier({
    trustAnchors: [anchor],
    cache: false,
    revocation: { crls },
  });
  const cached = createCertificateVerifier({ trustAnchors: [anchor], revocation: { crls } });
  const authenticator = createX509Authenticator({
    verifier: cached,
    idFrom: 'cn',
    requireClientIdMatch: 'cn',
  });
  const request = { clientId: 'device-1', transport: { tls: true, peerCertificates: chain } };
  const u = await opsPerSecond(() => uncached.verify(chain), LOOP);
  const uc = await opsPerSecond(() => uncachedCrl.verify(chain), LOOP);
  const c = await opsPerSecond(() => cached.verify(chain), LOOP);
  const a = await opsPerSecond(async () => {
    if ((await authenticator.authenticate(request)).outcome !== 'allow')
      throw new Error('bench chain refused');
  }, LOOP);
  rows.push({
    chain: label,
    'uncached /s': u,
    'uncached + CRLs /s': uc,
    'cached /s': c,
    'authenticator, cached /s': a,
    'cached ÷ uncached': c / uc,
  });
  crls.close();
}

console.log(
  `x509 chain verification (leaf + intermediate → root), Node ${process.version}, median of ${ROUNDS} × ${DURATION_MS} ms`,
);
console.table(
  rows.map((row) =>
    Object.fromEntries(
      Object.entries(row).map(([k, v]) => [
        k,
        typeof v === 'number' ? (k.includes('÷') ? `${v.toFixed(0)}×` : Math.round(v)) : v,
      ]),
    ),
  ),
);

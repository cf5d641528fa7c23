import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function ca(dir: string, name: string, cn: string) {
  openssl([
    'req',
    '-x509',
    ...EC,
    '-days',
    '2',
    '-subj',
    `/CN=${cn}`,
    '-keyout',
    join(dir, `${name}.key`),
    '-out',
    join(dir, `${name}.pem`),
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

function leaf(dir: string, name: string, issuer: string) {
  writeFileSync(
    join(dir, 'leaf.ext'),
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n',
  );
  openssl([
    'req',
    ...EC,
    '-subj',
    `/CN=${name}`,
    '-keyout',
    join(dir, `${name}.key`),
    '-out',
    join(dir, `${name}.csr`),
  ]);
  openssl([
    'x509',
    '-req',
    '-in',
    join(dir, `${name}.csr`),
    '-CA',
    join(dir, `${issuer}.pem`),
    '-CAkey',
    join(dir, `${issuer}.key`),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    join(dir, 'leaf.ext'),
    '-out',
    join(dir, `${name}.pem`),
  ]);
}

/** Base64 DER of a PEM certificate file, as EMQX renders `${cert_pem}`. */
export function certPem(dir: string, name: string): string {
  return openssl(['x509', '-in', join(dir, `${name}.pem`), '-outform', 'DER']).toString('base64');
}

/**
 * With openssl: a device CA (`ca.pem`) with client certificates `dev-x` and `dev-revoked`, a CRL
 * (`ca.crl`) revoking `dev-revoked`, and `stranger` issued by another CA.
 */
export function makePki(dir: string): void {
  ca(dir, 'ca', 'Test Device CA');
  ca(dir, 'other-ca', 'Other CA');
  leaf(dir, 'dev-x', 'ca');
  leaf(dir, 'dev-revoked', 'ca');
  leaf(dir, 'stranger', 'other-ca');
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'crlnumber'), '01\n');
  writeFileSync(
    join(dir, 'ca.cnf'),
    `[ ca ]\ndefault_ca = d\n[ d ]\ndatabase = ${join(dir, 'index.txt')}\ncrlnumber = ${join(dir, 'crlnumber')}\ndefault_md = sha256\ndefault_crl_days = 1\n`,
  );
  const signer = ['-keyfile', join(dir, 'ca.key'), '-cert', join(dir, 'ca.pem')];
  openssl(['ca', '-config', join(dir, 'ca.cnf'), '-revoke', join(dir, 'dev-revoked.pem'), ...signer]);
  openssl(['ca', '-config', join(dir, 'ca.cnf'), '-gencrl', ...signer, '-out', join(dir, 'ca.crl')]);
}

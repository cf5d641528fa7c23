// Password verifications/s per stored-hash format, one verification at a time.
// Run after a build: `pnpm run build && node bench/credentials/password.js` (DURATION_MS tunes it).
import { hashPassword, verifyPassword } from '../../packages/password/dist/index.js';

const DURATION_MS = Number(process.env.DURATION_MS ?? 2_000);
const PASSWORD = 'Tr0ub4dor&3-mqtt';
const SALT = '6d1e5cbd0d4ea5eb2d1c7a5e3f0b9a11';

// Vectors from packages/password/test/vectors.ts (mosquitto_passwd, python hashlib, libargon2 CLI);
// bcrypt cost 10 from libxcrypt crypt(3).
const formats = [
  ['argon2id, OWASP default (m=19456,t=2,p=1)', await hashPassword(PASSWORD)],
  [
    'argon2id as Mosquitto 2.1 (m=47104,t=1,p=1)',
    '$argon2id$v=19$m=47104,t=1,p=1$U1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTUw$QYaplPEelDJRZQF260gB1srxzB+zC8FVoiHLn0ILXb+vKj1FcUpcTvC1CTkxmJzrzMFl7GqTY908M/8S1iPrcQ',
  ],
  ['bcrypt $2b$ cost 10 (go-auth default)', '$2b$10$abcdefghijklmnopqrstuupK7PnHZ408QAX./XQekDlBKuhmMShIO'],
  [
    'go-auth PBKDF2 sha512, 100000 iterations',
    'PBKDF2$sha512$100000$ABEiM0RVZneImaq7zN3u/w==$26QxpBLK8SNzLchN8nwpOVKyyqOfRydZPG1LzAaahCs=',
  ],
  [
    'go-auth $pbkdf2-sha512$ i=1000',
    '$pbkdf2-sha512$i=1000,l=64$ABEiM0RVZneImaq7zN3u/w$9zwZSZbvoKYkCKZA7AkzlGHYmhIIhmc8jGuokLpBGTfsyi3ReJPwrA59IKNnttbbv3jcNUaKNpkZZjXfeSmNlw',
  ],
  [
    'Mosquitto 2.1 $7$ (1000 iterations)',
    '$7$1000$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==$wLNN4wyMfJm7uPPAyLiGKVfJYY2O3p8U41Ns1pixosvUizB7UMAOgvOm6Rdhnppvz62ma1vJ5oqJESKkd5yv4g==',
  ],
  [
    'Mosquitto 2.0 $7$ (101 iterations)',
    '$7$101$kDIfSZUncCbGqBJi$j/F0ZDhBWMrwqcHfI7s6JC+UX5xHZBkdBWiazoqOTu+5lh42IpPjlvFeB6Pa9Z3YgCrMz78SGcq8Spzt1e85yw==',
  ],
  [
    'EMQX pbkdf2 sha256, 1000 iterations',
    {
      algorithm: 'pbkdf2',
      macFun: 'sha256',
      iterations: 1000,
      dkLength: 32,
      salt: SALT,
      hash: '7ecb19e9e3c3dcba3cc22193498c093bc807b9d18959ee054d7d8b1e194d37e8',
    },
  ],
  [
    'Mosquitto $6$ (one SHA-512)',
    '$6$hciZUxaDt2r/Eg11$r0Fh0JFEBhHlu0c5FQiBUjthHTk+TV2+0ZAGZ03A397Ic9s+4wbqZ6MZMauUtH8SFJEOPTsYuMUz8Ayg7jLo0Q==',
  ],
  [
    'EMQX sha256, salt prefix',
    {
      algorithm: 'sha256',
      salt: SALT,
      hash: '9fae26ee9b685ab63b5711db24901d70249a6ab19ee64ba3f7ed7abc437265eb',
    },
  ],
  ['EMQX plain', { algorithm: 'plain', hash: PASSWORD }],
];

console.log(`password verifications, sequential, ${DURATION_MS} ms each, node ${process.version}`);
console.log(`| format | verifications/s | ms each |`);
console.log(`|---|---:|---:|`);
for (const [name, stored] of formats) {
  if (!(await verifyPassword(PASSWORD, stored))) throw new Error(`${name}: vector does not verify`);
  const start = performance.now();
  let count = 0;
  while (performance.now() - start < DURATION_MS) {
    await verifyPassword(PASSWORD, stored);
    count++;
  }
  const ms = performance.now() - start;
  const rate = (count * 1000) / ms;
  console.log(`| ${name} | ${rate.toFixed(rate < 100 ? 1 : 0)} | ${(ms / count).toFixed(3)} |`);
}

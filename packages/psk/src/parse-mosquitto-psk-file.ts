import { PskFileError } from './errors.js';

const HEX = /^[0-9a-fA-F]+$/;

/**
 * Parses a Mosquitto `psk_file` (`identity:hexkey` per line) into identity → key bytes, exactly as
 * Mosquitto reads it: lines starting with `#` and lines without `:` are skipped; blanks around fields
 * are trimmed; a key with a non-hex character or no key is an error (Mosquitto refuses to start).
 * Keys are decoded like Mosquitto's `mosquitto__hex2bin`: leading `00` pairs stay zero bytes and the
 * rest is read as a number, so an odd-length key such as `12345` is the bytes `01 23 45`.
 *
 * @throws {PskFileError} on the first invalid line.
 * @example
 * ```ts
 * const keys = parseMosquittoPskFile('easy:12345\n'); // Map { 'easy' => <01 23 45> }
 * ```
 */
export function parseMosquittoPskFile(text: string): Map<string, Uint8Array> {
  const keys = new Map<string, Uint8Array>();
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith('#') || !line.includes(':')) return;
    // Mosquitto splits with strtok(":"), which skips empty fields and ignores anything after the second field.
    const [identity, hex] = line
      .split(':')
      .filter((field) => field !== '')
      .map(trimBlanks);
    if (!identity) throw new PskFileError(index + 1, 'empty PSK identity');
    if (!hex) throw new PskFileError(index + 1, `missing key for identity "${identity}"`);
    if (!HEX.test(hex)) {
      throw new PskFileError(index + 1, `the key of identity "${identity}" is not hexadecimal`);
    }
    const key = mosquittoHexToBytes(hex);
    if (key.length === 0) {
      // BN_hex2bn('0') has no bytes: Mosquitto would refuse every handshake for this identity.
      throw new PskFileError(index + 1, `the key of identity "${identity}" is zero-length; use a longer key`);
    }
    keys.set(identity, key);
  });
  return keys;
}

function trimBlanks(field: string): string {
  return field.replace(/^[ \t]+|[ \t]+$/g, '');
}

/** `mosquitto__hex2bin`: count leading "00" pairs, then append the big-endian bytes of the hex number. */
function mosquittoHexToBytes(hex: string): Uint8Array {
  let zeros = 0;
  while (hex.startsWith('00', zeros * 2)) zeros++;
  let value = BigInt(`0x${hex}`).toString(16);
  if (value === '0') value = '';
  if (value.length % 2 === 1) value = `0${value}`;
  const bytes = new Uint8Array(zeros + value.length / 2);
  bytes.set(Buffer.from(value, 'hex'), zeros);
  return bytes;
}

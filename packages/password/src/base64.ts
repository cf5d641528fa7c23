import { PasswordFormatError } from './errors.js';

const PADDED = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const UNPADDED = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2,3})?$/;

/**
 * Strict standard-alphabet base64: the padding style the format prescribes, and canonical (the unused
 * trailing bits are zero), so one stored value has exactly one meaning. Node's own decoder skips junk.
 */
export function decodeBase64(text: string, padding: 'padded' | 'unpadded', what: string): Buffer {
  const ok = (padding === 'padded' ? PADDED : UNPADDED).test(text);
  const bytes = Buffer.from(text, 'base64');
  const canonical = bytes.toString('base64');
  if (!ok || (padding === 'padded' ? canonical : canonical.replace(/=+$/, '')) !== text) {
    throw new PasswordFormatError(
      `${what} is not valid ${padding === 'padded' ? 'padded' : 'unpadded'} standard base64`,
    );
  }
  return bytes;
}

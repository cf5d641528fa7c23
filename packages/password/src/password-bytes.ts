/** The password as bytes: strings are UTF-8, byte arrays are used as they are (MQTT passwords are binary). */
export function passwordBytes(password: string | Uint8Array): Buffer {
  if (typeof password === 'string') return Buffer.from(password, 'utf8');
  return Buffer.from(password.buffer, password.byteOffset, password.byteLength);
}

import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { InvalidInputError } from '@mqtt-warden/core';
import type { KeyKind } from './defense-event.js';

/** The key kinds a lockout can lock. */
export type LockKind = Extract<KeyKind, 'user' | 'user-address' | 'client' | 'address'>;

const LOCK_KINDS: readonly LockKind[] = ['user', 'user-address', 'client', 'address'];
// Longer subjects are keyed by their SHA-256, so a 64 KiB username costs a few dozen bytes of store.
const MAX_ENCODED = 200;

/**
 * The address a defense keys on: IPv4 as is (also when IPv4-mapped), IPv6 by its /64 (one
 * subscriber's prefix, so rotating addresses inside it does not reset the counters), anything else
 * (a broker reporting a host name) as is.
 *
 * @example
 * ```ts
 * addressKey('::ffff:10.0.0.1'); // '10.0.0.1'
 * addressKey('2001:db8:1:2:3:4:5:6'); // '2001:db8:1:2::/64'
 * ```
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1] as string;
  if (isIPv4(address) || !isIPv6(address)) return address;
  const groups = expandIPv6(address.split('%')[0] as string);
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

function expandIPv6(address: string): string[] {
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  // An embedded IPv4 tail (::ffff:1.2.3.4 forms other than the mapped one) takes two groups.
  const last = right.at(-1) ?? left.at(-1);
  if (last?.includes('.')) {
    const octets = last.split('.').map(Number);
    const groups = [((octets[0] ?? 0) << 8) | (octets[1] ?? 0), ((octets[2] ?? 0) << 8) | (octets[3] ?? 0)];
    const target = right.length > 0 ? right : left;
    target.splice(-1, 1, ...groups.map((g) => g.toString(16)));
  }
  const missing = 8 - left.length - right.length;
  return [...left, ...Array.from({ length: Math.max(0, missing) }, () => '0'), ...right];
}

/**
 * One part of a store key: URI-encoded, or `sha256.HEX` when longer than 200 characters encoded, so a
 * 64 KiB client id costs a short key and no subject can forge a separator.
 *
 * @example
 * ```ts
 * encodeKeyPart('a b'); // 'a%20b'
 * ```
 */
export function encodeKeyPart(subject: string): string {
  const encoded = encodeURIComponent(subject);
  return encoded.length <= MAX_ENCODED
    ? encoded
    : `sha256.${createHash('sha256').update(subject).digest('hex')}`;
}

/**
 * The store key of one lockout subject, as `lockout list` prints it and `lockout clear` takes it:
 * `user:alice`, `user-address:alice@10.0.0.1`, `client:sensor-1`, `address:10.0.0.1`
 * (parts URI-encoded; a part longer than 200 characters encoded becomes `sha256.HEX`).
 *
 * @example
 * ```ts
 * lockKey('user-address', 'alice', '10.0.0.1'); // 'user-address:alice@10.0.0.1'
 * ```
 */
export function lockKey(kind: LockKind, subject: string, address?: string): string {
  return kind === 'user-address'
    ? `${kind}:${encodeKeyPart(subject)}@${encodeKeyPart(address ?? '')}`
    : `${kind}:${encodeKeyPart(subject)}`;
}

/**
 * Checks a key given by an operator (`lockout clear KEY`) and returns its kind; throws
 * {@link InvalidInputError} (`ERR_INVALID_INPUT`) for anything that is not a lockout key.
 */
export function parseLockKey(key: string): LockKind {
  const colon = key.indexOf(':');
  const kind = key.slice(0, colon) as LockKind;
  const rest = key.slice(colon + 1);
  const part = /^[A-Za-z0-9%._~!*'()-]+$/;
  const valid =
    colon > 0 &&
    LOCK_KINDS.includes(kind) &&
    (kind === 'user-address'
      ? rest.split('@').length === 2 && rest.split('@').every((p) => part.test(p))
      : part.test(rest));
  if (!valid) {
    throw new InvalidInputError(
      `"${key.slice(0, 80)}" is not a lockout key; copy one from "mqtt-warden lockout list", e.g. user:alice or user-address:alice@10.0.0.1`,
    );
  }
  return kind;
}

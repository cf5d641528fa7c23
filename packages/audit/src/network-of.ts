import { isIPv4, isIPv6 } from 'node:net';

/**
 * The network an address belongs to for the new-network alert: its /24 for IPv4 (and IPv4-mapped IPv6),
 * its /64 for IPv6; the string itself when it is not an IP address.
 *
 * @example
 * ```ts
 * networkOf('192.0.2.17'); // '192.0.2.0/24'
 * networkOf('2001:db8::1'); // '2001:db8:0:0::/64'
 * ```
 */
export function networkOf(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const v4 = mapped ? mapped[1]! : address;
  if (isIPv4(v4)) return `${v4.slice(0, v4.lastIndexOf('.'))}.0/24`;
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('%')[0]!.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = address.includes('::') ? (tail === '' ? [] : tail.split(':')) : [];
  const groups = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

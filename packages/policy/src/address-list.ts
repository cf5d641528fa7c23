import { BlockList, isIP } from 'node:net';

/**
 * Compiles IPv4/IPv6 addresses and CIDR blocks into a membership test. IPv4-mapped IPv6 addresses
 * (`::ffff:10.0.0.1`, as Node reports IPv4 peers on dual-stack sockets) are checked as IPv4. A value that
 * is not an IP address gives `undefined`: not known to be inside or outside, so callers must not guess.
 *
 * @example
 * ```ts
 * const inside = compileAddressList(['10.0.0.0/8', '2001:db8::/32']);
 * inside('::ffff:10.1.2.3'); // true
 * ```
 */
export function compileAddressList(blocks: readonly string[]): (address: string) => boolean | undefined {
  const list = new BlockList();
  for (const block of blocks) {
    const [address = '', prefix] = block.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    list.addSubnet(address, prefix === undefined ? (family === 'ipv6' ? 128 : 32) : Number(prefix), family);
  }
  return (address) => {
    const plain = normalizeAddress(address);
    const family = isIP(plain);
    if (family === 0) return undefined;
    return list.check(plain, family === 6 ? 'ipv6' : 'ipv4');
  };
}

function normalizeAddress(address: string): string {
  const zoneless = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(zoneless);
  return mapped ? mapped[1]! : zoneless;
}

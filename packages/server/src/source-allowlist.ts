import { BlockList, isIP } from 'node:net';

/** One allowlist entry: an address and its prefix length. */
export interface SourceRange {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/**
 * Parses an allowlist entry: an IPv4 or IPv6 address (`127.0.0.1`, `::1`) or a CIDR range (`10.0.0.0/8`,
 * `fd00::/8`). Returns undefined when it is neither.
 *
 * @example
 * ```ts
 * parseSourceRange('10.0.0.0/8'); // { address: '10.0.0.0', prefix: 8, family: 'ipv4' }
 * parseSourceRange('10.0.0.0/33'); // undefined
 * ```
 */
export function parseSourceRange(entry: string): SourceRange | undefined {
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return undefined;
  const bits = version === 4 ? 32 : 128;
  if (slash === -1) return { address, prefix: bits, family: version === 4 ? 'ipv4' : 'ipv6' };
  const text = entry.slice(slash + 1);
  if (!/^\d{1,3}$/.test(text) || Number(text) > bits) return undefined;
  return { address, prefix: Number(text), family: version === 4 ? 'ipv4' : 'ipv6' };
}

/**
 * A predicate over a connection's source address: true only for an address inside one of the ranges.
 * IPv4 clients seen as IPv4-mapped IPv6 addresses (`::ffff:10.1.2.3`, on a dual-stack listener) match
 * IPv4 ranges. An unknown address (a closed socket) never matches.
 *
 * @example
 * ```ts
 * const allowed = sourceAllowlist(['10.0.0.0/8', '::1']);
 * allowed('10.20.30.40'); // true
 * allowed('::ffff:10.20.30.40'); // true
 * allowed('192.0.2.1'); // false
 * ```
 */
export function sourceAllowlist(entries: readonly string[]): (address: string | undefined) => boolean {
  const list = new BlockList();
  for (const entry of entries) {
    const range = parseSourceRange(entry);
    if (!range) throw new TypeError(`not an IP address or CIDR range: "${entry}"`);
    list.addSubnet(range.address, range.prefix, range.family);
  }
  return (address) => {
    if (address === undefined) return false;
    const version = isIP(address);
    return version !== 0 && list.check(address, version === 4 ? 'ipv4' : 'ipv6');
  };
}

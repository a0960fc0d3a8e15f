/**
 * The bucket an IPv6 requester is rate-limited in (docs/ipv6.md), used by the responder. Pure.
 *
 * One host on an IPv6 LAN can use any address of its /64 (privacy addresses change often, and
 * a spoofer can pick a new one for each datagram), so routable sources share one bucket per /64.
 * A link-local source keeps its own bucket, per interface. An IPv4-mapped source shares the
 * bucket of the IPv4 address it carries, so asking over both socket kinds earns no extra rate.
 */
import {
  classifyIPv6,
  formatIPv6,
  ipv6PrefixMask,
  mappedIPv4,
  parseIPv6,
} from '../network/ipv6.js';

/** Prefix length routable IPv6 sources are grouped by. */
export const RATE_LIMIT_PREFIX6 = 64;

/**
 * The rate-limit key of a source address as Node reports it: `2001:db8:1:2::/64` for a routable
 * IPv6 source, `fe80::5%eth0` for a link-local one, `10.0.0.1` for `::ffff:10.0.0.1` and for IPv4
 * text. Text that is not an address is its own key (cut to 64 characters), a value that is not
 * text the empty key. Never throws.
 */
export function rateLimitKey(source: string): string {
  const parsed = parseIPv6(source);
  // Not `String(source)`: a value that is no string (a careless caller) may refuse conversion.
  if (!parsed) return typeof source === 'string' ? source.slice(0, 64) : '';
  const kind = classifyIPv6(parsed.value);
  if (kind === 'ipv4-mapped') return mappedIPv4(parsed.value) as string;
  if (kind === 'link-local') return formatIPv6(parsed);
  if (kind === 'loopback' || kind === 'unspecified' || kind === 'multicast') {
    return formatIPv6({ value: parsed.value, zone: undefined });
  }
  const network = parsed.value & ipv6PrefixMask(RATE_LIMIT_PREFIX6);
  return `${formatIPv6({ value: network, zone: undefined })}/${RATE_LIMIT_PREFIX6}`;
}

/**
 * Which requesters the responder answers, and with which of its addresses. Pure functions
 * over the interface list, so the decision is the same in tests and on a real host.
 */
import { interfaceFor, type NetworkInterface } from '../network/interfaces.js';
import {
  type Cidr,
  cidrContains,
  isLoopback,
  isPrivate,
  isRfc1918,
  isUnspecifiedOrMulticast,
  parseIPv4,
  prefixMask,
} from '../network/ipv4.js';

/**
 * What a responder does with requesters outside every local subnet (behind a router), beyond
 * the `allow` CIDRs: `'private'` answers private ones (IPv4 RFC 1918, IPv6 unique-local) under
 * the lower off-link rate limits (docs/security.md, "Off-link senders"); `'none'` answers none.
 */
export type OffLinkPolicy = 'private' | 'none';

/** The off-link policies, for option checks. */
export const OFF_LINK_POLICIES: readonly OffLinkPolicy[] = ['private', 'none'];

/**
 * Why a requester is answered, or why not. `private-off-link`: a private sender behind a
 * router, answered under the off-link rate limits.
 */
export type SenderVerdict =
  | {
      readonly allowed: true;
      readonly via: 'loopback' | 'on-link' | 'allow-list' | 'private-off-link';
    }
  | { readonly allowed: false; readonly reason: 'invalid-source' | 'public' | 'off-link' };

/**
 * Loopback and `allow` CIDRs are always answered; on-link requesters (inside a local subnet)
 * when their address is private; off-link requesters with an RFC 1918 address when `offLink`
 * is `'private'` (the default), as `private-off-link`; everything else (other off-link senders,
 * carrier-grade NAT 100.64/10 off-link included, or a public address on-link) is not, unless an
 * `allow` CIDR covers it.
 */
export function judgeSender(
  source: string,
  interfaces: readonly NetworkInterface[],
  allow: readonly Cidr[],
  offLink: OffLinkPolicy = 'private',
): SenderVerdict {
  const ip = parseIPv4(source);
  if (ip === undefined || isUnspecifiedOrMulticast(ip)) {
    return { allowed: false, reason: 'invalid-source' };
  }
  if (isLoopback(ip)) return { allowed: true, via: 'loopback' };
  if (allow.some((cidr) => cidrContains(cidr, ip))) return { allowed: true, via: 'allow-list' };
  if (!interfaceFor(ip, interfaces)) {
    return offLink === 'private' && isRfc1918(ip)
      ? { allowed: true, via: 'private-off-link' }
      : { allowed: false, reason: 'off-link' };
  }
  return isPrivate(ip) ? { allowed: true, via: 'on-link' } : { allowed: false, reason: 'public' };
}

/**
 * The address to advertise to `source`: 127.0.0.1 to loopback requesters, otherwise the
 * address of the interface in the requester's subnet. `preferred` (the one address a service
 * listens on) wins when the requester can reach it the same way: a loopback address for a
 * loopback requester, or an address of an interface whose subnet holds the requester (a
 * secondary address, say). Undefined when no local subnet holds the requester (the caller then
 * asks the routing table).
 */
export function replyAddressFor(
  source: string,
  interfaces: readonly NetworkInterface[],
  preferred?: string,
): string | undefined {
  const ip = parseIPv4(source);
  if (ip === undefined) return undefined;
  const wanted = preferred === undefined ? undefined : parseIPv4(preferred);
  if (isLoopback(ip)) return wanted !== undefined && isLoopback(wanted) ? preferred : '127.0.0.1';
  if (wanted !== undefined) {
    const holder = interfaces.find((iface) => iface.address === preferred && !iface.loopback);
    const network = holder && {
      network: (wanted & prefixMask(holder.prefix)) >>> 0,
      prefix: holder.prefix,
    };
    if (network && cidrContains(network, ip)) return preferred;
  }
  return interfaceFor(ip, interfaces)?.address;
}

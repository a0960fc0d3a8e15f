/**
 * Which IPv6 requesters the responder answers (docs/ipv6.md, "Sender policy"). Pure; built for
 * the responder's IPv6 socket.
 *
 * - `::1` is answered (this host);
 * - an IPv4-mapped source (`::ffff:10.0.0.1`, an IPv4 sender on a dual-stack socket) is judged
 *   as the IPv4 sender it is, by the IPv4 policy;
 * - a link-local source is answered when its zone (the interface it arrived on, which Node puts
 *   in the source address) is one of the interfaces the responder answers on;
 * - a unique-local or global source is answered when it lies inside the on-link prefix of one of
 *   those interfaces (prefixes shorter than {@link MIN_ON_LINK_PREFIX} do not count);
 * - an off-link unique-local source (fc00::/7, the IPv6 counterpart of RFC 1918) is answered as
 *   `private-off-link`, under the off-link rate limits, unless `offLink` is `'none'`;
 * - any other source only when an `allow` CIDR covers it.
 */
import type { NetworkInterface } from '../network/interfaces.js';
import type { IPv6InterfaceAddress } from '../network/interfaces6.js';
import type { Cidr } from '../network/ipv4.js';
import {
  classifyIPv6,
  type IPv6Cidr,
  ipv6CidrContains,
  mappedIPv4,
  parseIPv6,
} from '../network/ipv6.js';
import { judgeSender, type OffLinkPolicy, type SenderVerdict } from './sender-policy.js';

/**
 * An on-link prefix shorter than this is not trusted as "on link": an address configured with,
 * say, a /16 would otherwise make a quarter of a million /32 sites look local.
 */
export const MIN_ON_LINK_PREFIX = 48;

/** Why an IPv6 requester is answered, or why not. */
export type SenderVerdict6 =
  | SenderVerdict
  | { readonly allowed: true; readonly via: 'link-local' }
  | { readonly allowed: false; readonly reason: 'other-interface' };

/** What the IPv6 policy needs to know. */
export interface SenderContext6 {
  /** The IPv6 addresses of the interfaces the responder answers on. */
  readonly interfaces: readonly IPv6InterfaceAddress[];
  /** The `allow` CIDRs for IPv6. */
  readonly allow: readonly IPv6Cidr[];
  /** What to do with off-link private senders (IPv6 unique-local, mapped RFC 1918). @default 'private' */
  readonly offLink?: OffLinkPolicy | undefined;
  /** For IPv4-mapped sources: the IPv4 interfaces and `allow` CIDRs. Absent: mapped refused. */
  readonly ipv4?:
    | {
        readonly interfaces: readonly NetworkInterface[];
        readonly allow: readonly Cidr[];
      }
    | undefined;
}

/**
 * Judges the source address of a datagram received on an IPv6 socket, as Node reports it
 * (`rinfo.address`, zone included for a link-local sender). Never throws, whatever the text.
 *
 * @example
 * judgeSender6('fe80::2%eth0', { interfaces: listIPv6Interfaces(), allow: [] });
 * // { allowed: true, via: 'link-local' } when eth0 is answered on
 */
export function judgeSender6(source: string, context: SenderContext6): SenderVerdict6 {
  const parsed = parseIPv6(source);
  if (!parsed) return { allowed: false, reason: 'invalid-source' };
  const kind = classifyIPv6(parsed.value);
  switch (kind) {
    case 'unspecified':
    case 'multicast':
      return { allowed: false, reason: 'invalid-source' };
    case 'loopback':
      return { allowed: true, via: 'loopback' };
    case 'ipv4-mapped': {
      const ipv4 = mappedIPv4(parsed.value) as string;
      if (!context.ipv4) return { allowed: false, reason: 'invalid-source' };
      return judgeSender(ipv4, context.ipv4.interfaces, context.ipv4.allow, context.offLink);
    }
    default:
      break;
  }
  if (context.allow.some((cidr) => ipv6CidrContains(cidr, parsed.value))) {
    return { allowed: true, via: 'allow-list' };
  }
  if (kind === 'link-local') {
    const zone = parsed.zone;
    if (zone === undefined) return { allowed: false, reason: 'invalid-source' };
    const known = context.interfaces.some(
      (iface) => iface.name === zone || (iface.scopeId !== 0 && String(iface.scopeId) === zone),
    );
    return known
      ? { allowed: true, via: 'link-local' }
      : { allowed: false, reason: 'other-interface' };
  }
  const onLink = context.interfaces.some(
    (iface) =>
      iface.kind !== 'link-local' &&
      iface.prefix >= MIN_ON_LINK_PREFIX &&
      ipv6CidrContains(iface.network, parsed.value),
  );
  if (onLink) return { allowed: true, via: 'on-link' };
  return kind === 'unique-local' && (context.offLink ?? 'private') === 'private'
    ? { allowed: true, via: 'private-off-link' }
    : { allowed: false, reason: 'off-link' };
}

/**
 * The address to advertise to an IPv6 `source` (as Node reports it): `::1` to `::1`; to a
 * link-local requester, this host's link-local address on the interface named by its zone; to
 * a requester inside an on-link prefix, this host's address in that prefix. When several
 * addresses qualify (a SLAAC /64 holds a stable and a temporary address), `preferred` (the one
 * address the service listens on, canonical form) wins; to a link-local requester, `preferred`
 * also wins when it is any address of the interface the request came in on. Undefined
 * otherwise (the caller then asks the routing table). Never throws.
 */
export function replyAddressFor6(
  source: string,
  interfaces: readonly IPv6InterfaceAddress[],
  preferred?: string,
): string | undefined {
  const parsed = parseIPv6(source);
  if (!parsed) return undefined;
  const kind = classifyIPv6(parsed.value);
  if (kind === 'loopback') return '::1';
  let candidates: IPv6InterfaceAddress[];
  if (kind === 'link-local') {
    const zone = parsed.zone;
    if (zone === undefined) return undefined;
    const onLink = interfaces.filter(
      (iface) => iface.name === zone || (iface.scopeId !== 0 && String(iface.scopeId) === zone),
    );
    // A service on one address of this link (a ULA, say) is advertised with it: link-scope
    // multicast requests always come from link-local sources, and would never find it.
    const service = onLink.find((iface) => iface.address === preferred);
    if (service) return service.address;
    candidates = onLink.filter((iface) => iface.kind === 'link-local');
  } else if (kind === 'unique-local' || kind === 'global') {
    candidates = interfaces.filter(
      (iface) => iface.kind !== 'link-local' && ipv6CidrContains(iface.network, parsed.value),
    );
  } else {
    return undefined;
  }
  return (candidates.find((iface) => iface.address === preferred) ?? candidates[0])?.address;
}

/**
 * The multicast groups beckon uses (docs/ipv6.md, "Multicast groups"), and the zone-qualified
 * forms Node's `dgram` needs. Pure. The responder joins them (src/responder/group-memberships.ts);
 * the client sends to them (src/client/channels.ts).
 */
import { isValidZone } from './ipv6.js';

/**
 * The IPv6 group: transient (`T` flag, `ff1x`), link-local scope (`x2`), group id `beck` in
 * ASCII (0x6265636b). Not assigned by IANA, as the transient range needs no assignment; Ethernet
 * multicast MAC 33:33:62:65:63:6b, which is no solicited-node or well-known group's.
 */
export const IPV6_GROUP = 'ff12::6265:636b';

/**
 * The IPv4 group: in 239.255.0.0/16, the IPv4 local scope (RFC 2365), which routers at a site's
 * edge do not forward; `b` (98) and `k` (107) in ASCII. Away from 239.255.255.250 (SSDP) and
 * 239.255.255.253 (SLP). Sent with TTL 1.
 */
export const IPV4_GROUP = '239.255.98.107';

/**
 * Where to send to reach the IPv6 group on interface `name`: `ff12::6265:636b%eth0`. Without a
 * zone the kernel picks one interface by its routes. Undefined for a name that is not a valid
 * zone (see `isValidZone`).
 */
export function groupDestination6(name: string): string | undefined {
  return isValidZone(name) ? `${IPV6_GROUP}%${name}` : undefined;
}

/**
 * The `multicastInterface` argument of `socket.addMembership()` / `setMulticastInterface()` for
 * interface `name` on an IPv6 socket: `::%eth0`. Undefined for a name that is not a valid zone.
 */
export function membershipInterface6(name: string): string | undefined {
  return isValidZone(name) ? `::%${name}` : undefined;
}

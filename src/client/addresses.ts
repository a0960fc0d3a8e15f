/**
 * The addresses of one logical server (one instance id) found over several paths, and which one
 * its `ip`/`url` use. Pure: the caller passes the local interfaces. Built for the client's
 * per-instance merge (docs/ipv6.md, "One server, several addresses": planned, not yet wired).
 */
import type { NetworkInterface } from '../network/interfaces.js';
import type { IPv6InterfaceAddress } from '../network/interfaces6.js';
import {
  cidrContains,
  isLinkLocal,
  isLoopback,
  isUnspecifiedOrMulticast,
  parseIPv4,
  prefixMask,
} from '../network/ipv4.js';
import {
  classifyIPv6,
  formatIPv6,
  ipv6CidrContains,
  mappedIPv4,
  parseIPv6,
} from '../network/ipv6.js';

/** One address a server answered from. */
export interface ServerAddress {
  /** Canonical text; a link-local IPv6 address carries its zone (`fe80::1%eth0`). */
  readonly address: string;
  readonly family: 'IPv4' | 'IPv6';
  /** The local interface the answer came in on, when known. */
  readonly interface: string | undefined;
  /** Milliseconds from request to answer on that path, when measured. */
  readonly rtt: number | undefined;
  /** How this address was found ({@link Via}). */
  readonly via: Via;
}

/**
 * How an address was found: an answer to an IPv4 broadcast (or to the IPv4 group request that
 * goes with it, or an IPv4 announcement), to an IPv6 group request (or an IPv6 announcement), to
 * a unicast `target`, to a subnet `scan`, or read from a `registry`.
 */
export type Via = 'broadcast' | 'multicast' | 'target' | 'scan' | 'registry';

/** The local addresses the preference compares against. */
export interface LocalNetworks {
  readonly ipv4: readonly NetworkInterface[];
  readonly ipv6: readonly IPv6InterfaceAddress[];
}

/**
 * How close an address is, best first:
 * - 0 `same-prefix`: loopback, or a routable address inside the prefix of a local interface;
 * - 1 `routable`: IPv4, IPv6 global or unique-local, reached through a router;
 * - 2 `link-local`: 169.254/16 or fe80::/10, usable on one link only (and by `fetch` not at all
 *   for IPv6, see docs/ipv6.md).
 */
export type AddressTier = 'same-prefix' | 'routable' | 'link-local';

const TIER_ORDER: Record<AddressTier, number> = { 'same-prefix': 0, routable: 1, 'link-local': 2 };

/**
 * Puts an address in canonical form and family: IPv4 dotted decimal (an IPv4-mapped IPv6
 * address becomes the IPv4 address it carries), IPv6 per RFC 5952 with its zone. Undefined for
 * anything that is neither (a value that is not a string included), or an address that cannot
 * be a server: unspecified (`::`, 0.0.0.0/8), multicast (ff00::/8, 224.0.0.0/4), reserved and
 * broadcast (240.0.0.0/4), a link-local IPv6 address without zone. Never throws.
 */
export function normalizeServerAddress(
  text: string,
): { address: string; family: 'IPv4' | 'IPv6' } | undefined {
  if (typeof text !== 'string') return undefined;
  const parsed = parseIPv6(text);
  if (!parsed) return serverIPv4(text);
  const kind = classifyIPv6(parsed.value);
  if (kind === 'ipv4-mapped') return serverIPv4(mappedIPv4(parsed.value) as string);
  if (kind === 'unspecified' || kind === 'multicast') return undefined;
  if (kind === 'link-local' && parsed.zone === undefined) return undefined;
  // A zone means nothing on a routable address; drop it so that one address is one entry.
  const zone = kind === 'link-local' ? parsed.zone : undefined;
  return { address: formatIPv6({ value: parsed.value, zone }), family: 'IPv6' };
}

/** `text` as a server's IPv4 address; undefined if it is not IPv4, or no server's (0.0.0.0/8, 224/3). */
function serverIPv4(text: string): { address: string; family: 'IPv4' } | undefined {
  const ip = parseIPv4(text);
  return ip === undefined || isUnspecifiedOrMulticast(ip)
    ? undefined
    : { address: text, family: 'IPv4' };
}

/** The {@link AddressTier} of a normalized address against the local networks. */
export function addressTier(address: ServerAddress, local: LocalNetworks): AddressTier {
  if (address.family === 'IPv4') {
    const ip = parseIPv4(address.address);
    if (ip === undefined) return 'link-local';
    if (isLoopback(ip)) return 'same-prefix';
    if (isLinkLocal(ip)) return 'link-local';
    const sameSubnet = local.ipv4.some(
      (iface) =>
        !iface.loopback &&
        !iface.linkLocal &&
        cidrContains(
          {
            network: ((parseIPv4(iface.address) ?? 0) & prefixMask(iface.prefix)) >>> 0,
            prefix: iface.prefix,
          },
          ip,
        ),
    );
    return sameSubnet ? 'same-prefix' : 'routable';
  }
  const parsed = parseIPv6(address.address);
  if (!parsed) return 'link-local';
  const kind = classifyIPv6(parsed.value);
  if (kind === 'loopback') return 'same-prefix';
  if (kind === 'link-local') return 'link-local';
  const samePrefix = local.ipv6.some(
    (iface) =>
      iface.kind !== 'link-local' &&
      iface.kind !== 'loopback' &&
      ipv6CidrContains(iface.network, parsed.value),
  );
  return samePrefix ? 'same-prefix' : 'routable';
}

/**
 * Orders a server's addresses best first: by {@link AddressTier} (same prefix, then other
 * routable, then link-local), then the lowest RTT (unmeasured last; differences within
 * {@link RTT_TOLERANCE_MS} or a fifth do not count), then IPv4 before IPv6 (its
 * URL works everywhere), then by text, so the order is the same on every run. Addresses that
 * do not normalize are dropped; duplicates (same address and zone) keep their lowest RTT.
 *
 * @example
 * rankAddresses(
 *   [
 *     { address: 'fe80::5%eth0', family: 'IPv6', interface: 'eth0', rtt: 0.2 },
 *     { address: 'fd00::5', family: 'IPv6', interface: 'eth0', rtt: 0.4 },
 *   ],
 *   { ipv4: [], ipv6: listIPv6Interfaces() },
 * )[0]?.address; // 'fd00::5' (when fd00::/64 is on a local interface)
 */
export function rankAddresses(
  addresses: readonly ServerAddress[],
  local: LocalNetworks,
): ServerAddress[] {
  const unique = new Map<string, ServerAddress>();
  for (const entry of addresses) {
    const normal = normalizeServerAddress(entry.address);
    if (!normal) continue;
    const rtt = typeof entry.rtt === 'number' && Number.isFinite(entry.rtt) ? entry.rtt : undefined;
    const candidate: ServerAddress = { ...entry, ...normal, rtt };
    const seen = unique.get(normal.address);
    if (!seen || compareRtt(candidate.rtt, seen.rtt) < 0) unique.set(normal.address, candidate);
  }
  const tiers = new Map([...unique.values()].map((a) => [a, TIER_ORDER[addressTier(a, local)]]));
  return [...unique.values()].sort(
    (a, b) =>
      (tiers.get(a) ?? 2) - (tiers.get(b) ?? 2) ||
      compareRtt(a.rtt, b.rtt) ||
      (a.family === b.family ? 0 : a.family === 'IPv4' ? -1 : 1) ||
      (a.address < b.address ? -1 : a.address > b.address ? 1 : 0),
  );
}

/** The address a server's `ip`/`url` should use: the first of {@link rankAddresses}. */
export function preferredAddress(
  addresses: readonly ServerAddress[],
  local: LocalNetworks,
): ServerAddress | undefined {
  return rankAddresses(addresses, local)[0];
}

/**
 * RTTs that differ by less than {@link RTT_TOLERANCE_MS}, or by less than a fifth, are noise, not
 * a reason to prefer a path: the family then decides (IPv4 first), so that the same server gets
 * the same `ip` run after run.
 */
export const RTT_TOLERANCE_MS = 1;

function compareRtt(a: number | undefined, b: number | undefined): number {
  if (a === undefined) return b === undefined ? 0 : 1;
  if (b === undefined) return -1;
  return Math.abs(a - b) <= Math.max(RTT_TOLERANCE_MS, Math.min(a, b) / 5) ? 0 : a - b;
}

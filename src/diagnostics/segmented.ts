/**
 * The segmented-network check: a large private subnet (a /16 in 10/8, say) is usually cut into
 * /24 VLANs by the network's switches, and a broadcast reaches only the sender's own VLAN.
 * Pure: it looks at interface addresses only.
 */
import type { NetworkInterface } from '../network/interfaces.js';
import { cidrContains, formatIPv4, parseCidr, parseIPv4, prefixMask } from '../network/ipv4.js';
import { DEFAULT_DISCOVERY_PORT } from '../protocol/plain.js';

/** An interface whose subnet is probably larger than its broadcast domain. */
export interface SegmentedNetwork {
  readonly interface: string;
  readonly address: string;
  /** The configured subnet, e.g. `10.20.0.0/16`. */
  readonly network: string;
  readonly prefix: number;
  /** Addresses in the configured subnet: 2^(32 - prefix). */
  readonly addresses: number;
  /** The broadcast address discovery sends to, e.g. `10.20.255.255`. */
  readonly broadcast: string;
  /** The /24 this host is probably confined to, e.g. `10.20.5.0/24`. */
  readonly likelyBroadcastDomain: string;
  /** How many /24 segments the subnet spans: 2^(24 - prefix). */
  readonly segments: number;
  /** The /24 segments, first to last: `10.20.0.0/24 to 10.20.255.0/24`. */
  readonly segmentRange: string;
  /** The command that asks a server in another segment directly; fill in its segment. */
  readonly fix: string;
  /**
   * What a subnet scan of it probes (`--scan auto` scans this when broadcast finds nothing):
   * the subnet, at most the /16 around this host's address, e.g. `10.20.0.0/16`.
   */
  readonly scanRange: string;
  /** The command that scans it: `beckon discover --scan 10.20.0.0/16`. */
  readonly scanFix: string;
  /**
   * How long that scan takes, in seconds: the range is on this host's subnet, so it goes at
   * most 256 probes a second (a quarter of Linux's default neighbour table; see
   * docs/beyond-one-lan.md), 256 s for a /16.
   */
  readonly scanSeconds: number;
}

/** Probes a second of a scan of an on-link range, with Linux's default neighbour table. */
const ON_LINK_SCAN_RATE = 256;

const SEGMENTED_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '100.64.0.0/10'].map((text) => {
  const cidr = parseCidr(text);
  if (!cidr) throw new Error(`bad range ${text}`);
  return cidr;
});

/**
 * Returns every usable interface address that sits in a private or carrier-grade NAT range
 * (10/8, 172.16/12, 100.64/10) with a subnet larger than /24. Such networks are usually cut
 * into /24 VLANs, so a broadcast reaches one segment of the `segments` the subnet spans, and
 * servers in the others are found only by unicast (`--target`). Container bridges (Docker's
 * 172.17.0.0/16 is one software switch, not a segmented LAN) and VPN tunnels are left out;
 * other virtual links count, since a bridge such as `br0` often carries the real LAN. (Inside a
 * container on a /16 network, `eth0` is such a link and is reported too; doctor's container
 * finding then names the real problem.)
 * 192.168/16 is left out too, as in the original: home routers that hand out a /16 do not
 * segment it.
 *
 * @example
 * for (const s of detectSegmentedNetwork(listInterfaces())) console.log(s.interface, s.fix);
 */
export function detectSegmentedNetwork(
  interfaces: readonly NetworkInterface[],
  options: { port?: number } = {},
): SegmentedNetwork[] {
  const port = options.port ?? DEFAULT_DISCOVERY_PORT;
  const findings: SegmentedNetwork[] = [];
  for (const iface of interfaces) {
    const ip = parseIPv4(iface.address);
    if (ip === undefined || !iface.up || iface.prefix >= 24 || !iface.broadcast) continue;
    if (iface.loopback || iface.linkLocal) continue;
    if (iface.class === 'container' || iface.class === 'vpn') continue;
    if (!SEGMENTED_RANGES.some((range) => cidrContains(range, ip))) continue;
    const network = (ip & prefixMask(iface.prefix)) >>> 0;
    const own = (ip & prefixMask(24)) >>> 0;
    const last = (network + 2 ** (32 - iface.prefix) - 256) >>> 0;
    const scanBits = Math.max(iface.prefix, 16); // a scan takes at most a /16
    const scanRange = `${formatIPv4((ip & prefixMask(scanBits)) >>> 0)}/${scanBits}`;
    const portFlag = port === DEFAULT_DISCOVERY_PORT ? '' : ` --port ${port}`;
    findings.push({
      interface: iface.name,
      address: iface.address,
      network: `${formatIPv4(network)}/${iface.prefix}`,
      prefix: iface.prefix,
      addresses: 2 ** (32 - iface.prefix),
      broadcast: iface.broadcast,
      likelyBroadcastDomain: `${formatIPv4(own)}/24`,
      segments: 2 ** (24 - iface.prefix),
      segmentRange: `${formatIPv4(network)}/24 to ${formatIPv4(last)}/24`,
      fix: `beckon discover${portFlag} --target ${segmentTemplate(network, iface.prefix)}`,
      scanRange,
      scanFix: `beckon discover${portFlag} --scan ${scanRange}`,
      scanSeconds: Math.ceil(2 ** (32 - scanBits) / ON_LINK_SCAN_RATE),
    });
  }
  return findings;
}

/** `10.20.N.0/24` for a /16: the octets the prefix fixes, letters for the ones it does not. */
function segmentTemplate(network: number, prefix: number): string {
  const octets = formatIPv4(network).split('.');
  const letters = ['L', 'M', 'N'];
  for (let octet = 0; octet < 3; octet++) {
    if (prefix < (octet + 1) * 8) octets[octet] = letters[octet] ?? 'N';
  }
  octets[3] = '0';
  return `${octets.join('.')}/24`;
}

/** A scan's duration for people: `about 45 s`, `about 4 min`. */
export function describeScanTime(seconds: number): string {
  return seconds < 120 ? `about ${seconds} s` : `about ${Math.round(seconds / 60)} min`;
}

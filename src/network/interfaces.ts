/** The host's IPv4 interfaces, one entry per address. */
import { networkInterfaces } from 'node:os';
import { classifyInterface, type InterfaceClass } from './classify.js';
import {
  broadcastAddress,
  cidrContains,
  formatIPv4,
  isLinkLocal,
  isLoopback,
  netmaskPrefix,
  parseIPv4,
  prefixMask,
} from './ipv4.js';
import { parseIPv6 } from './ipv6.js';
import {
  type LinkFacts,
  type LinkFactsReader,
  readLinkFacts,
  rememberLinkFacts,
} from './link-facts.js';

// A link's class does not change while it exists; a renamed or new link is seen within 5 s.
const classFacts = rememberLinkFacts(5000, readLinkFacts);

/** One IPv4 address of one network interface. */
export interface NetworkInterface {
  /** Interface name, e.g. `eth0`. */
  readonly name: string;
  /** The IPv4 address. */
  readonly address: string;
  /** Dotted netmask. */
  readonly netmask: string;
  /** Prefix length (24 for 255.255.255.0). */
  readonly prefix: number;
  /** Directed broadcast address; undefined for /31 and /32. */
  readonly broadcast: string | undefined;
  /** A loopback interface. */
  readonly loopback: boolean;
  /** The address is IPv4 link-local (169.254/16). */
  readonly linkLocal: boolean;
  /** The interface is up. */
  readonly up: boolean;
  /** What kind of network it leads to: see {@link InterfaceClass}. */
  readonly class: InterfaceClass;
  /**
   * The IPv6 addresses of the same interface (their 128-bit values), so that an IPv6 CIDR
   * pattern (`--interface fd00::/64`) selects it for IPv4 too. Absent when not listed.
   */
  readonly ipv6?: readonly bigint[];
}

/** Lists the host's IPv4 interfaces; inject another one in tests or unusual environments. */
export type InterfaceProvider = () => readonly NetworkInterface[];

/**
 * Lists this host's IPv4 interface addresses from `os.networkInterfaces()`, each with its
 * class (from /sys/class/net on Linux, from its name elsewhere). Node lists only interfaces
 * that are up and running, so every entry has `up: true`; `beckon doctor` also shows the others.
 *
 * @example
 * const wired = listInterfaces().filter((iface) => iface.class === 'physical');
 */
export function listInterfaces(readFacts: LinkFactsReader = classFacts): NetworkInterface[] {
  const result: NetworkInterface[] = [];
  for (const [name, addresses] of Object.entries(networkInterfaces())) {
    let facts: LinkFacts | undefined; // read only for links with IPv4: the responder polls this
    const ipv6 = (addresses ?? []).flatMap((entry) => {
      const parsed = entry.family === 'IPv6' ? parseIPv6(entry.address) : undefined;
      return parsed ? [parsed.value] : [];
    });
    for (const entry of addresses ?? []) {
      if (entry.family !== 'IPv4') continue;
      facts ??= readFacts(name);
      const ip = parseIPv4(entry.address);
      const prefix = netmaskPrefix(entry.netmask);
      if (ip === undefined || prefix === undefined) continue;
      const iface = describeAddress(name, entry.address, prefix, true, facts, entry.internal);
      result.push(ipv6.length > 0 ? { ...iface, ipv6 } : iface);
    }
  }
  return result;
}

/** One interface address as a {@link NetworkInterface}; `loopback` defaults to 127/8. */
export function describeAddress(
  name: string,
  address: string,
  prefix: number,
  up: boolean,
  facts: LinkFacts,
  loopback = isLoopback(parseIPv4(address) ?? 0),
): NetworkInterface {
  const linkLocal = isLinkLocal(parseIPv4(address) ?? 0);
  return {
    name,
    address,
    netmask: formatIPv4(prefixMask(prefix)),
    prefix,
    broadcast: broadcastAddress(address, prefix),
    loopback,
    linkLocal,
    up,
    class: classifyInterface(name, facts, { loopback, linkLocal }),
  };
}

/** The local interface whose subnet holds `ip`, the most specific one when several do. */
export function interfaceFor(
  ip: number,
  interfaces: readonly NetworkInterface[],
): NetworkInterface | undefined {
  let best: NetworkInterface | undefined;
  for (const iface of interfaces) {
    const address = parseIPv4(iface.address);
    if (address === undefined || iface.loopback) continue;
    const network = (address & prefixMask(iface.prefix)) >>> 0;
    if (!cidrContains({ network, prefix: iface.prefix }, ip)) continue;
    if (!best || iface.prefix > best.prefix) best = iface;
  }
  return best;
}

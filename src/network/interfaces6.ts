/**
 * The host's IPv6 interface addresses, one entry per address. Used by the responder's IPv6
 * socket (docs/ipv6.md), and built for the IPv6 client (planned); the conversion is pure so tests can feed it.
 */
import { type NetworkInterfaceInfo, networkInterfaces } from 'node:os';
import {
  classifyIPv6,
  formatIPv6,
  type IPv6Cidr,
  type IPv6Kind,
  ipv6NetmaskPrefix,
  ipv6PrefixMask,
  parseIPv6,
} from './ipv6.js';

/** One IPv6 address of one network interface. */
export interface IPv6InterfaceAddress {
  /** Interface name, e.g. `eth0`: the zone of its link-local addresses. */
  readonly name: string;
  /** The address in canonical form, without zone. */
  readonly address: string;
  /** Its 128 bits. */
  readonly value: bigint;
  /** Prefix length of the on-link prefix (64 for most). */
  readonly prefix: number;
  /** The on-link prefix, host bits cleared. */
  readonly network: IPv6Cidr;
  /** What kind of address it is: `link-local`, `unique-local`, `global`, `loopback`... */
  readonly kind: IPv6Kind;
  /** The interface index Node reports (`scopeid`); 0 when unknown. */
  readonly scopeId: number;
}

/**
 * The IPv6 entries of an `os.networkInterfaces()` result. Entries whose address or netmask does
 * not parse (a zone Node put in the address, say) are left out rather than thrown on.
 */
export function ipv6InterfacesFrom(
  table: Readonly<Record<string, readonly NetworkInterfaceInfo[] | undefined>>,
): IPv6InterfaceAddress[] {
  const result: IPv6InterfaceAddress[] = [];
  for (const [name, addresses] of Object.entries(table)) {
    for (const info of addresses ?? []) {
      // Node 18.0-18.3 reported family as a number.
      if (info.family !== 'IPv6' && (info.family as unknown) !== 6) continue;
      const parsed = parseIPv6(info.address.split('%')[0]);
      const prefix = ipv6NetmaskPrefix(info.netmask);
      if (!parsed || prefix === undefined) continue;
      result.push({
        name,
        address: formatIPv6({ value: parsed.value, zone: undefined }),
        value: parsed.value,
        prefix,
        network: { network: parsed.value & ipv6PrefixMask(prefix), prefix },
        kind: classifyIPv6(parsed.value),
        scopeId: 'scopeid' in info && typeof info.scopeid === 'number' ? info.scopeid : 0,
      });
    }
  }
  return result;
}

/** Lists the host's IPv6 addresses; inject another one in tests or unusual environments. */
export type IPv6InterfaceProvider = () => readonly IPv6InterfaceAddress[];

/** Lists this host's IPv6 addresses (interfaces that are up), from `os.networkInterfaces()`. */
export function listIPv6Interfaces(): IPv6InterfaceAddress[] {
  return ipv6InterfacesFrom(networkInterfaces());
}

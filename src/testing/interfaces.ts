/**
 * What a simulated host's interface providers list: the shapes of src/network/interfaces.ts
 * (`NetworkInterface`) and src/network/interfaces6.ts (`IPv6InterfaceAddress`), built with their
 * helpers. Pure.
 */
import { describeAddress, type NetworkInterface } from '../network/interfaces.js';
import type { IPv6InterfaceAddress } from '../network/interfaces6.js';
import { classifyIPv6, formatIPv6, ipv6PrefixMask, parseIPv6 } from '../network/ipv6.js';

/** One link of a host as the providers see it. */
export interface LinkView {
  readonly name: string;
  readonly index: number;
  readonly loopback: boolean;
  readonly ipv4?: { readonly address: string; readonly prefix: number } | undefined;
  readonly ipv6: readonly { readonly address: string; readonly prefix: number }[];
}

const ETHERNET = { type: 1, hardware: true, adminUp: true, operstate: 'up', carrier: true };
const LOOPBACK = { type: 772, hardware: false, adminUp: true, operstate: 'unknown' };

/** The IPv4 entries of `links`, as `listInterfaces()` would list them. */
export function ipv4Entries(links: readonly LinkView[]): NetworkInterface[] {
  const result: NetworkInterface[] = [];
  for (const link of links) {
    if (!link.ipv4) continue;
    const facts = link.loopback ? LOOPBACK : ETHERNET;
    const iface = describeAddress(
      link.name,
      link.ipv4.address,
      link.ipv4.prefix,
      true,
      facts,
      link.loopback,
    );
    const ipv6 = link.ipv6.flatMap((entry) => {
      const parsed = parseIPv6(entry.address);
      return parsed ? [parsed.value] : [];
    });
    result.push(ipv6.length > 0 ? { ...iface, ipv6 } : iface);
  }
  return result;
}

/** The IPv6 entries of `links`, as `listIPv6Interfaces()` would list them. */
export function ipv6Entries(links: readonly LinkView[]): IPv6InterfaceAddress[] {
  const result: IPv6InterfaceAddress[] = [];
  for (const link of links) {
    for (const entry of link.ipv6) {
      const parsed = parseIPv6(entry.address);
      if (!parsed) continue;
      result.push({
        name: link.name,
        address: formatIPv6({ value: parsed.value, zone: undefined }),
        value: parsed.value,
        prefix: entry.prefix,
        network: { network: parsed.value & ipv6PrefixMask(entry.prefix), prefix: entry.prefix },
        kind: classifyIPv6(parsed.value),
        scopeId: link.index,
      });
    }
  }
  return result;
}

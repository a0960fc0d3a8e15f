/**
 * Every interface of the host, up or down, with its addresses, its class, and whether discovery
 * broadcasts on it and why not.
 */
import { classifyInterface, type InterfaceClass } from '../network/classify.js';
import {
  describeAddress,
  type InterfaceProvider,
  type NetworkInterface,
} from '../network/interfaces.js';
import { type LinkFacts, type LinkFactsReader, readLinkFacts } from '../network/link-facts.js';
import {
  type InterfaceMatcher,
  SKIP_REASONS,
  type SkipReason,
  selectInterfaces,
} from '../network/select.js';
import {
  describeLinkIPv6,
  type IPv6Sources,
  ipv6LinkNames,
  type LinkIPv6Report,
  NO_IPV6_SOURCES,
} from './inventory6.js';
import type { BridgeMulticast } from './ipv6-facts.js';
import { runCommand } from './run-command.js';

/** One IPv4 address of an interface, and whether discovery uses it. */
export interface AddressReport {
  readonly address: string;
  readonly prefix: number;
  readonly netmask: string;
  /** Undefined for /31 and /32. */
  readonly broadcast: string | undefined;
  /** Discovery broadcasts from this address. */
  readonly used: boolean;
  /** Why not, when it does not. */
  readonly skipped: SkipReason | undefined;
}

/** One interface of the host. */
export interface InterfaceReport {
  readonly name: string;
  readonly class: InterfaceClass;
  /** Up and running (administratively up, with carrier). */
  readonly up: boolean;
  /** The kernel's operational state when known (`up`, `down`, `lowerlayerdown`...). */
  readonly state: string | undefined;
  readonly addresses: readonly AddressReport[];
  /** Discovery broadcasts on at least one of its addresses. */
  readonly used: boolean;
  /** Why discovery does not use it, in words; undefined when it does. */
  readonly reason: string | undefined;
  /** Its IPv6 addresses and settings. */
  readonly ipv6: LinkIPv6Report;
  /**
   * beckon's multicast groups (`ff12::6265:636b`, `239.255.98.107`) this host joined on it, as a
   * responder does; undefined when unknown (not Linux).
   */
  readonly groups: readonly string[] | undefined;
  /** For a Linux bridge: whether it snoops multicast and whether it is a querier. */
  readonly bridge: BridgeMulticast | undefined;
}

/** An address of a link that Node does not list (down, or without carrier). */
export interface LinkAddress {
  readonly name: string;
  readonly address: string;
  readonly prefix: number;
}

/** Where the inventory gets its facts; each part can be replaced in tests. */
export interface InventorySources {
  /** Running interfaces' addresses (what discovery sees). */
  readonly interfaces: InterfaceProvider;
  /** Every link name, down ones too. */
  readonly linkNames: () => readonly string[];
  /** Addresses of links that are not running, e.g. from `ip -j addr`. */
  readonly linkAddresses: readonly LinkAddress[];
  readonly linkFacts?: LinkFactsReader;
  /** IPv6 addresses, settings and group memberships. @default nothing known */
  readonly ipv6?: IPv6Sources;
}

/** What to do about a skipped address, for doctor's report (after {@link SKIP_REASONS}). */
const SKIP_FIXES: Readonly<Partial<Record<SkipReason, string>>> = {
  loopback: 'name it with --interface to use it',
  'link-local': 'name it with --interface to use it',
  'no-broadcast': 'use --target across it',
};

/**
 * Lists every interface with the decision discovery makes about it under `include` and
 * `exclude` (the same patterns `beckon discover` would use).
 */
export function inventoryInterfaces(
  sources: InventorySources,
  include: readonly InterfaceMatcher[],
  exclude: readonly InterfaceMatcher[],
): InterfaceReport[] {
  const readFacts = sources.linkFacts ?? readLinkFacts;
  const running = sources.interfaces();
  const ipv6 = sources.ipv6 ?? NO_IPV6_SOURCES;
  const names = [
    ...new Set([...running.map((i) => i.name), ...sources.linkNames(), ...ipv6LinkNames(ipv6)]),
  ];
  const facts = new Map<string, LinkFacts>(names.map((name) => [name, readFacts(name)]));
  const all: NetworkInterface[] = [...running];
  for (const link of sources.linkAddresses) {
    if (running.some((iface) => iface.name === link.name)) continue;
    all.push(
      describeAddress(link.name, link.address, link.prefix, false, facts.get(link.name) ?? {}),
    );
  }
  const { selected, skipped } = selectInterfaces(all, include, exclude);
  const decision = new Map<NetworkInterface, SkipReason | undefined>([
    ...selected.map((iface) => [iface, undefined] as const),
    ...skipped.map(({ iface, reason }) => [iface, reason] as const),
  ]);
  return names.map((name) => {
    const own = all.filter((iface) => iface.name === name);
    const fact = facts.get(name) ?? {};
    const up = own.length > 0 ? own.some((iface) => iface.up) : isRunning(fact);
    const addresses = own.map((iface) => {
      const reason = decision.get(iface);
      return {
        address: iface.address,
        prefix: iface.prefix,
        netmask: iface.netmask,
        broadcast: iface.broadcast,
        used: reason === undefined,
        skipped: reason,
      };
    });
    const used = addresses.some((a) => a.used);
    return {
      name,
      class:
        own[0]?.class ??
        classifyInterface(name, fact, { loopback: name === 'lo', linkLocal: false }),
      up,
      state: fact.operstate,
      addresses,
      used,
      reason: used ? undefined : whyUnused(name, up, fact, addresses),
      ...describeLinkIPv6(name, ipv6),
    };
  });
}

function isRunning(facts: LinkFacts): boolean {
  return facts.adminUp !== false && facts.carrier !== false && facts.operstate !== 'down';
}

function whyUnused(
  name: string,
  up: boolean,
  facts: LinkFacts,
  addresses: readonly AddressReport[],
): string {
  if (!up) {
    if (facts.adminUp === false) return `it is down (ip link set ${name} up)`;
    return 'it has no carrier: cable unplugged, Wi-Fi not associated, or a bridge with no port up';
  }
  const first = addresses[0]?.skipped;
  if (first === undefined) return 'it has no IPv4 address';
  const fix = SKIP_FIXES[first];
  return fix ? `${SKIP_REASONS[first]} (${fix})` : SKIP_REASONS[first];
}

/**
 * IPv4 addresses of every link from `ip -j -4 addr` (iproute2), down ones included, which Node
 * does not list. Empty when the tool is missing: the inventory then shows down links without
 * addresses.
 */
export async function readLinkAddresses(): Promise<LinkAddress[]> {
  const result = await runCommand('ip', ['-j', '-4', 'addr', 'show']);
  if (!result.ok) return [];
  try {
    const links = JSON.parse(result.stdout) as {
      ifname?: string;
      addr_info?: { family?: string; local?: string; prefixlen?: number }[];
    }[];
    return links.flatMap((link) =>
      (link.addr_info ?? [])
        .filter((a) => a.family === 'inet' && a.local && typeof a.prefixlen === 'number')
        .map((a) => ({
          name: link.ifname ?? '',
          address: a.local ?? '',
          prefix: a.prefixlen ?? 32,
        })),
    );
  } catch {
    return [];
  }
}

/**
 * The IPv6 and multicast part of doctor's interface inventory: each link's IPv6 addresses and
 * their kind, whether IPv6 is off on it, the groups of beckon it joined, and a bridge's
 * snooping settings. Pure: the facts come in through {@link IPv6Sources}.
 */

import type { IPv6InterfaceAddress } from '../network/interfaces6.js';
import { classifyIPv6, formatIPv6, type IPv6Kind } from '../network/ipv6.js';
import { IPV4_GROUP, IPV6_GROUP } from '../network/multicast.js';
import type {
  AddrGenMode,
  BridgeMulticast,
  HostIPv6State,
  Inet6Entry,
  LinkIPv6Settings,
} from './ipv6-facts.js';
import type { Membership } from './memberships.js';

/** One IPv6 address of a link. */
export interface IPv6AddressReport {
  /** RFC 5952; a link-local address with its zone, the link's name: `fe80::1%eth0`. */
  readonly address: string;
  readonly prefix: number;
  /** `link-local`, `unique-local` (ULA, fc00::/7), `global`, `loopback`... */
  readonly kind: IPv6Kind;
  /**
   * `usable`; `tentative` while duplicate address detection runs (a second or two after the
   * link comes up); `dad-failed` when another host on the link has the address (never used).
   */
  readonly state: 'usable' | 'tentative' | 'dad-failed';
}

/** IPv6 on one link. */
export interface LinkIPv6Report {
  /** IPv6 is off on the link (`disable_ipv6`, or off host-wide); undefined when unknown. */
  readonly disabled: boolean | undefined;
  /** How the link makes its link-local address; `none` makes none. Undefined when unknown. */
  readonly addrGenMode: AddrGenMode | undefined;
  readonly addresses: readonly IPv6AddressReport[];
}

/** The IPv6 and multicast facts of the host, for the inventory. */
export interface IPv6Sources {
  readonly host: HostIPv6State;
  /** Addresses of running links, from `os.networkInterfaces()` (`listIPv6Interfaces()`). */
  readonly interfaces: readonly IPv6InterfaceAddress[];
  /** /proc/net/if_inet6: every link's addresses with their DAD state; undefined off Linux. */
  readonly inet6: readonly Inet6Entry[] | undefined;
  /** Groups joined per link (/proc/net/igmp6, /proc/net/igmp); undefined when unknown. */
  readonly memberships: readonly Membership[] | undefined;
  readonly link: (name: string) => LinkIPv6Settings;
  readonly bridge: (name: string) => BridgeMulticast | undefined;
}

/** What the inventory adds to a link for IPv6 and multicast. */
export interface LinkMulticastFacts {
  readonly ipv6: LinkIPv6Report;
  /** beckon's groups ({@link IPV6_GROUP}, {@link IPV4_GROUP}) joined on the link. */
  readonly groups: readonly string[] | undefined;
  readonly bridge: BridgeMulticast | undefined;
}

/** Nothing known: for platforms without /proc, and for tests that leave IPv6 out. */
export const NO_IPV6_SOURCES: IPv6Sources = {
  host: 'unknown',
  interfaces: [],
  inet6: undefined,
  memberships: undefined,
  link: () => ({ disabled: undefined, addrGenMode: undefined }),
  bridge: () => undefined,
};

const BECKON_GROUPS: readonly string[] = [IPV6_GROUP, IPV4_GROUP];
/** The order addresses are listed in: the one multicast needs first. */
const KIND_ORDER: readonly IPv6Kind[] = ['link-local', 'unique-local', 'global'];
const rank = (kind: IPv6Kind) => {
  const index = KIND_ORDER.indexOf(kind);
  return index < 0 ? KIND_ORDER.length : index;
};

/** The names of links that have an IPv6 address. */
export function ipv6LinkNames(sources: IPv6Sources): string[] {
  return [
    ...new Set([
      ...sources.interfaces.map((a) => a.name),
      ...(sources.inet6 ?? []).map((e) => e.interface),
    ]),
  ];
}

/** The IPv6 addresses, settings, beckon's joined groups and bridge settings of link `name`. */
export function describeLinkIPv6(name: string, sources: IPv6Sources): LinkMulticastFacts {
  const settings = sources.link(name);
  const hostOff = sources.host === 'disabled' || sources.host === 'absent';
  const addresses = new Map<bigint, IPv6AddressReport>();
  const add = (value: bigint, prefix: number, state: IPv6AddressReport['state']) => {
    const kind = classifyIPv6(value);
    const zone = kind === 'link-local' ? name : undefined;
    addresses.set(value, { address: formatIPv6({ value, zone }), prefix, kind, state });
  };
  for (const a of sources.interfaces) if (a.name === name) add(a.value, a.prefix, 'usable');
  // if_inet6 lists down links too, and knows the DAD state Node does not show.
  for (const e of sources.inet6 ?? []) {
    if (e.interface !== name) continue;
    add(e.value, e.prefix, e.dadFailed ? 'dad-failed' : e.tentative ? 'tentative' : 'usable');
  }
  const joined = sources.memberships
    ?.filter((m) => m.interface === name && BECKON_GROUPS.includes(m.group))
    .map((m) => m.group);
  return {
    ipv6: {
      disabled: hostOff ? true : settings.disabled,
      addrGenMode: settings.addrGenMode,
      addresses: [...addresses.entries()]
        .sort(([a, x], [b, y]) => rank(x.kind) - rank(y.kind) || (a < b ? -1 : a > b ? 1 : 0))
        .map(([, report]) => report),
    },
    groups: joined && [...new Set(joined)],
    bridge: sources.bridge(name),
  };
}

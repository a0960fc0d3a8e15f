/**
 * Choosing the links discovery uses over IPv6 (docs/ipv6.md, "The client"). IPv6
 * discovery sends once per link, to the group zoned with the link's name, so the unit here is a
 * link (an interface name with its IPv6 addresses), not an address as for IPv4 broadcast.
 *
 * Patterns are those of `--interface` / `interfaces`: a name, a glob (`veth*`), an IPv4 CIDR
 * (the link holding such an IPv4 address) or an IPv6 CIDR (the link holding such an IPv6
 * address).
 */
import type { NetworkInterface } from './interfaces.js';
import type { IPv6InterfaceAddress } from './interfaces6.js';
import { ipv6CidrContains, parseIPv6Cidr } from './ipv6.js';
import { compileInterfacePattern, type InterfaceMatcher, unmatchedPatterns } from './select.js';

/** One interface's IPv6 side. */
export interface IPv6Link {
  readonly name: string;
  /** Interface index (`scopeid`), 0 when unknown. */
  readonly scopeId: number;
  /** Its IPv6 addresses, link-local ones included. */
  readonly addresses: readonly IPv6InterfaceAddress[];
  readonly loopback: boolean;
  /** Whether it has a link-local address: needed as the source of link-scope multicast. */
  readonly hasLinkLocal: boolean;
}

/** Groups IPv6 addresses by interface, in the order interfaces first appear. */
export function ipv6Links(addresses: readonly IPv6InterfaceAddress[]): IPv6Link[] {
  const byName = new Map<string, IPv6InterfaceAddress[]>();
  for (const address of addresses) {
    const list = byName.get(address.name) ?? [];
    list.push(address);
    byName.set(address.name, list);
  }
  return [...byName].map(([name, list]) => ({
    name,
    scopeId: list.find((a) => a.scopeId !== 0)?.scopeId ?? 0,
    addresses: list,
    loopback: list.every((a) => a.kind === 'loopback'),
    hasLinkLocal: list.some((a) => a.kind === 'link-local'),
  }));
}

/** Tests one link (with the host's IPv4 addresses, for IPv4 CIDR patterns) against a pattern. */
export interface LinkMatcher {
  (link: IPv6Link, ipv4: readonly NetworkInterface[]): boolean;
  /** The pattern as given, for messages. */
  readonly pattern: string;
}

/**
 * Compiles a pattern for links. An IPv6 CIDR (holds `:` and `/`) matches a link holding an
 * address inside it; anything else is compiled as for IPv4 and matches a link by name, or by an
 * IPv4 address of the same interface.
 *
 * @throws {InvalidOptionError} naming `option` for a malformed CIDR (IPv4 or IPv6) or an empty
 *   pattern.
 */
export function compileLinkPattern(option: string, pattern: string): LinkMatcher {
  // Validates every kind of pattern, with the same message as for IPv4 interfaces.
  const match = compileInterfacePattern(option, pattern);
  const text = pattern.trim();
  const cidr6 = text.includes('/') && text.includes(':') ? parseIPv6Cidr(text) : undefined;
  if (cidr6) {
    return Object.assign(
      (link: IPv6Link) => link.addresses.some((a) => ipv6CidrContains(cidr6, a.value)),
      { pattern },
    );
  }
  if (text.includes('/')) {
    // An IPv4 CIDR: the link of an interface holding such an IPv4 address.
    return Object.assign(
      (link: IPv6Link, ipv4: readonly NetworkInterface[]) =>
        ipv4.some((iface) => iface.name === link.name && match(iface)),
      { pattern },
    );
  }
  // A name or glob looks at the name only: a stand-in entry carrying the link's name will do.
  return Object.assign((link: IPv6Link) => match({ name: link.name } as NetworkInterface), {
    pattern,
  });
}

/**
 * Why IPv6 discovery leaves a link out:
 * - `excluded`, `not-included`: as for IPv4;
 * - `loopback`: used only when an include pattern names it (then `::1` is asked, not the group);
 * - `no-link-local`: no link-local address, so no link-scope multicast can leave it (IPv6 is
 *   off on it, or duplicate address detection failed).
 */
export type LinkSkipReason = 'excluded' | 'not-included' | 'loopback' | 'no-link-local';

/** Each {@link LinkSkipReason} in words, for warnings: "eth0 (IPv6): <reason>". */
export const LINK_SKIP_REASONS: Readonly<Record<LinkSkipReason, string>> = {
  excluded: 'an exclude pattern matches it',
  'not-included': 'no include pattern matches it',
  loopback: 'loopback reaches this host only',
  'no-link-local': 'no IPv6 link-local address, so no link-scope multicast can leave it',
};

/**
 * The patterns of `matchers` that match no IPv4 interface and no IPv6 link: typos, or
 * interfaces that are not up. `linkMatchers` are the same patterns compiled for links.
 */
export function unmatchedAnywhere(
  matchers: readonly InterfaceMatcher[],
  linkMatchers: readonly LinkMatcher[],
  interfaces: readonly NetworkInterface[],
  links: readonly IPv6Link[],
): string[] {
  const onLinks = new Set(
    linkMatchers.filter((m) => links.some((link) => m(link, interfaces))).map((m) => m.pattern),
  );
  return unmatchedPatterns(interfaces, matchers).filter((pattern) => !onLinks.has(pattern));
}

/** The result of {@link selectIPv6Links}. */
export interface LinkSelection {
  readonly selected: IPv6Link[];
  readonly skipped: { readonly link: IPv6Link; readonly reason: LinkSkipReason }[];
}

/** Chooses the links IPv6 discovery sends on, and says why each other one is left out. */
export function selectIPv6Links(
  links: readonly IPv6Link[],
  include: readonly LinkMatcher[],
  exclude: readonly LinkMatcher[],
  ipv4: readonly NetworkInterface[] = [],
): LinkSelection {
  const selection: LinkSelection = { selected: [], skipped: [] };
  for (const link of links) {
    const included = include.some((match) => match(link, ipv4));
    let reason: LinkSkipReason | undefined;
    if (exclude.some((match) => match(link, ipv4))) reason = 'excluded';
    else if (include.length > 0 && !included) reason = 'not-included';
    else if (link.loopback) reason = included ? undefined : 'loopback';
    else if (!link.hasLinkLocal) reason = 'no-link-local';
    if (reason) selection.skipped.push({ link, reason });
    else selection.selected.push(link);
  }
  return selection;
}

/** Choosing interfaces by name, glob (`veth*`) or CIDR (`10.0.0.0/8`, `fd00::/64`). */
import { InvalidOptionError } from '../errors.js';
import type { NetworkInterface } from './interfaces.js';
import { cidrContains, parseCidr, parseIPv4 } from './ipv4.js';
import { ipv6CidrContains, parseIPv6Cidr } from './ipv6.js';

/** Tests one interface address against one pattern. */
export interface InterfaceMatcher {
  (iface: NetworkInterface): boolean;
  /** The pattern as given, for messages. */
  readonly pattern: string;
}

/**
 * Compiles a pattern: an IPv4 CIDR matches addresses inside it, an IPv6 CIDR matches the
 * addresses of an interface that also holds an IPv6 address inside it, a glob (`*`, `?`)
 * matches names, anything else is an exact name.
 *
 * @throws {InvalidOptionError} for a malformed CIDR or an empty pattern.
 */
export function compileInterfacePattern(option: string, pattern: string): InterfaceMatcher {
  return Object.assign(compileMatch(option, pattern), { pattern });
}

const PATTERNS =
  'an interface name, glob, IPv4 CIDR or IPv6 CIDR (such as 10.0.0.0/8 or fd00::/8; no zone, prefix 0 to 128)';

function compileMatch(option: string, pattern: string): (iface: NetworkInterface) => boolean {
  const text = pattern.trim();
  if (text.includes('/') && text.includes(':')) {
    const cidr = parseIPv6Cidr(text);
    if (!cidr) throw new InvalidOptionError(option, pattern, PATTERNS);
    return (iface) => iface.ipv6?.some((value) => ipv6CidrContains(cidr, value)) === true;
  }
  if (text.includes('/')) {
    const cidr = parseCidr(text);
    if (!cidr) throw new InvalidOptionError(option, pattern, PATTERNS);
    return (iface) => cidrContains(cidr, parseIPv4(iface.address) ?? -1);
  }
  if (text === '') throw new InvalidOptionError(option, pattern, 'a non-empty interface pattern');
  if (/[*?]/.test(text)) {
    const source = text
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    const regex = new RegExp(`^${source}$`);
    return (iface) => regex.test(iface.name);
  }
  return (iface) => iface.name === text;
}

/**
 * Why discovery does not broadcast on an interface address:
 * - `down`: the link is down or has no carrier;
 * - `excluded`: an exclude pattern matches it;
 * - `not-included`: include patterns are set and none matches it;
 * - `loopback`, `link-local`: used only when an include pattern names them;
 * - `no-broadcast`: a /31 or /32 (point-to-point links, most VPNs) has no broadcast address;
 * - `same-address`: another interface has the same address and is already used.
 */
export type SkipReason =
  | 'down'
  | 'excluded'
  | 'not-included'
  | 'loopback'
  | 'link-local'
  | 'no-broadcast'
  | 'same-address';

/** Each {@link SkipReason} in words, for warnings and reports: "lo 127.0.0.1: <reason>". */
export const SKIP_REASONS: Readonly<Record<SkipReason, string>> = {
  down: 'it is down',
  excluded: 'an exclude pattern matches it',
  'not-included': 'no include pattern matches it',
  loopback: 'loopback reaches this host only',
  'link-local': 'a 169.254 address means DHCP failed',
  'no-broadcast': 'a /31 or /32 address has no broadcast address',
  'same-address': 'another interface has the same address',
};

/** The result of {@link selectInterfaces}. */
export interface InterfaceSelection {
  readonly selected: NetworkInterface[];
  readonly skipped: { readonly iface: NetworkInterface; readonly reason: SkipReason }[];
}

/**
 * Chooses the interface addresses discovery broadcasts on, and says why each other one is left
 * out. Down interfaces are always skipped; loopback and link-local ones only count when an
 * include pattern names them.
 */
export function selectInterfaces(
  interfaces: readonly NetworkInterface[],
  include: readonly InterfaceMatcher[],
  exclude: readonly InterfaceMatcher[],
): InterfaceSelection {
  const selection: InterfaceSelection = { selected: [], skipped: [] };
  const used = new Set<string>();
  for (const iface of interfaces) {
    const reason = skipReason(iface, include, exclude, used);
    if (reason) {
      selection.skipped.push({ iface, reason });
    } else {
      selection.selected.push(iface);
      used.add(iface.address);
    }
  }
  return selection;
}

function skipReason(
  iface: NetworkInterface,
  include: readonly InterfaceMatcher[],
  exclude: readonly InterfaceMatcher[],
  used: ReadonlySet<string>,
): SkipReason | undefined {
  if (!iface.up) return 'down';
  if (exclude.some((match) => match(iface))) return 'excluded';
  const included = include.some((match) => match(iface));
  if (include.length > 0 && !included) return 'not-included';
  if (iface.loopback && !included) return 'loopback';
  if (iface.linkLocal && !included) return 'link-local';
  if (!iface.broadcast) return 'no-broadcast';
  if (used.has(iface.address)) return 'same-address';
  return undefined;
}

/**
 * The patterns among `matchers` that match none of `interfaces`: a typo, or an interface that
 * is not there (Node lists only running interfaces with an IPv4 address).
 */
export function unmatchedPatterns(
  interfaces: readonly NetworkInterface[],
  matchers: readonly InterfaceMatcher[],
): string[] {
  return matchers.filter((match) => !interfaces.some(match)).map((match) => match.pattern);
}

/**
 * The interfaces as a short list for messages: `lo 127.0.0.1/8, eth0 10.0.0.5/24`, or `none`.
 * Each address of an interface is listed.
 */
export function describeInterfaces(interfaces: readonly NetworkInterface[]): string {
  if (interfaces.length === 0) return 'none';
  return interfaces.map((iface) => `${iface.name} ${iface.address}/${iface.prefix}`).join(', ');
}

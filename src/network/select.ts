/** Choosing interfaces by name, glob (`veth*`) or CIDR (`10.0.0.0/8`). */
import { InvalidOptionError } from '../errors.js';
import type { NetworkInterface } from './interfaces.js';
import { cidrContains, parseCidr, parseIPv4 } from './ipv4.js';

/** Tests one interface address against one pattern. */
export type InterfaceMatcher = (iface: NetworkInterface) => boolean;

/**
 * Compiles a pattern: a CIDR (contains `/`) matches addresses inside it, a glob (`*`, `?`)
 * matches names, anything else is an exact name.
 *
 * @throws {InvalidOptionError} for a malformed CIDR or an empty pattern.
 */
export function compileInterfacePattern(option: string, pattern: string): InterfaceMatcher {
  const text = pattern.trim();
  if (text.includes('/')) {
    const cidr = parseCidr(text);
    if (!cidr)
      throw new InvalidOptionError(option, pattern, 'an interface name, glob or IPv4 CIDR');
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

/** Why an interface was left out. */
export type SkipReason = 'down' | 'excluded' | 'not-included' | 'loopback' | 'link-local';

/** The result of {@link selectInterfaces}. */
export interface InterfaceSelection {
  readonly selected: NetworkInterface[];
  readonly skipped: { readonly iface: NetworkInterface; readonly reason: SkipReason }[];
}

/**
 * Applies include and exclude patterns. Down interfaces are always skipped; loopback and
 * link-local ones only count when an include pattern names them.
 */
export function selectInterfaces(
  interfaces: readonly NetworkInterface[],
  include: readonly InterfaceMatcher[],
  exclude: readonly InterfaceMatcher[],
): InterfaceSelection {
  const selection: InterfaceSelection = { selected: [], skipped: [] };
  for (const iface of interfaces) {
    const included = include.some((match) => match(iface));
    const reason: SkipReason | undefined = !iface.up
      ? 'down'
      : exclude.some((match) => match(iface))
        ? 'excluded'
        : include.length > 0 && !included
          ? 'not-included'
          : iface.loopback && !included
            ? 'loopback'
            : iface.linkLocal && !included
              ? 'link-local'
              : undefined;
    if (reason) selection.skipped.push({ iface, reason });
    else selection.selected.push(iface);
  }
  return selection;
}

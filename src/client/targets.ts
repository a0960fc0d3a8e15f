/** Explicit unicast targets: IPv4 or IPv6 addresses, host names, or small IPv4 CIDRs. */
import { lookup } from 'node:dns/promises';
import { InvalidOptionError } from '../errors.js';
import { cidrHosts, cidrSize, parseCidr, parseIPv4 } from '../network/ipv4.js';
import { normalizeServerAddress } from './addresses.js';

/** Largest CIDR accepted as a target: a /22, 1,024 addresses per send round. */
export const MAX_TARGET_ADDRESSES = 1024;

const HOSTNAME =
  /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

/** A validated target. */
export type Target =
  | { readonly kind: 'addresses'; readonly text: string; readonly addresses: readonly string[] }
  | { readonly kind: 'host'; readonly text: string };

/**
 * Validates one target.
 *
 * @throws {InvalidOptionError} for anything that is not an IPv4 address, a CIDR of at most
 *   {@link MAX_TARGET_ADDRESSES} addresses, or a host name.
 */
export function parseTarget(option: string, text: string): Target {
  const trimmed = text.trim().replace(/^\[(.*)\]$/, '$1');
  if (trimmed.includes(':') && !trimmed.includes('/')) {
    // IPv6: a mapped IPv4 address becomes that address; link-local needs its zone.
    const address = normalizeServerAddress(trimmed);
    if (!address) {
      throw new InvalidOptionError(
        option,
        text,
        'an IPv6 unicast address (a link-local one with its zone, such as fe80::1%eth0), an IPv4 address, a host name, or a small IPv4 CIDR',
      );
    }
    return { kind: 'addresses', text: trimmed, addresses: [address.address] };
  }
  if (trimmed.includes('/') || parseIPv4(trimmed) !== undefined) {
    const cidr = parseCidr(trimmed);
    if (!cidr || cidrSize(cidr) > MAX_TARGET_ADDRESSES) {
      throw new InvalidOptionError(
        option,
        text,
        `an IPv4 or IPv6 address, a host name, or an IPv4 CIDR of at most ${MAX_TARGET_ADDRESSES} addresses (/22 or smaller)`,
      );
    }
    return { kind: 'addresses', text: trimmed, addresses: cidrHosts(cidr) };
  }
  if (!HOSTNAME.test(trimmed) || /^[\d.]+$/.test(trimmed)) {
    throw new InvalidOptionError(
      option,
      text,
      'an IPv4 or IPv6 address, a host name, or a small IPv4 CIDR',
    );
  }
  return { kind: 'host', text: trimmed };
}

/**
 * Resolves targets to addresses (host names to `family`'s addresses, 0 for both); a host name
 * that does not resolve is reported, not thrown.
 */
export async function resolveTargets(
  targets: readonly Target[],
  family: 0 | 4 | 6,
  onUnresolved: (target: string, error: unknown) => void,
): Promise<string[]> {
  const addresses = new Set<string>();
  await Promise.all(
    targets.map(async (target) => {
      if (target.kind === 'addresses') {
        for (const address of target.addresses) addresses.add(address);
        return;
      }
      try {
        for (const { address } of await lookup(target.text, { family, all: true })) {
          addresses.add(address);
        }
      } catch (error) {
        onUnresolved(target.text, error);
      }
    }),
  );
  return [...addresses];
}

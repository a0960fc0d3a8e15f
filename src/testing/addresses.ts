/** Address parsing for the simulated network: canonical text, family and zone. Pure. */
import { formatIPv4, isLoopback, parseIPv4 } from '../network/ipv4.js';
import { classifyIPv6, formatIPv6, parseIPv6 } from '../network/ipv6.js';

/** An IP address in canonical form. */
export interface Address {
  readonly family: 'IPv4' | 'IPv6';
  /** Canonical text without zone. */
  readonly text: string;
  /** The IPv6 zone (`eth0` in `fe80::1%eth0`), if any. */
  readonly zone: string | undefined;
  /** IPv4 as a 32-bit number, IPv6 as a bigint. */
  readonly value: number | bigint;
}

/** Parses an IPv4 or IPv6 literal (IPv6 with an optional zone); undefined when it is neither. */
export function parseAddress(text: string): Address | undefined {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return { family: 'IPv4', text: formatIPv4(v4), zone: undefined, value: v4 };
  const [bare = '', zone] = text.split('%');
  const v6 = parseIPv6(bare);
  if (!v6) return undefined;
  return {
    family: 'IPv6',
    text: formatIPv6({ value: v6.value, zone: undefined }),
    zone: zone || undefined,
    value: v6.value,
  };
}

/** `0.0.0.0` or `::`. */
export function isWildcard(address: Address): boolean {
  return address.family === 'IPv4'
    ? address.value === 0
    : classifyIPv6(address.value as bigint) === 'unspecified';
}

/** 224.0.0.0/4 or ff00::/8. */
export function isMulticast(address: Address): boolean {
  return address.family === 'IPv4'
    ? (address.value as number) >>> 28 === 0xe
    : classifyIPv6(address.value as bigint) === 'multicast';
}

/** 127.0.0.0/8 or ::1. */
export function isLoopbackAddress(address: Address): boolean {
  return address.family === 'IPv4'
    ? isLoopback(address.value as number)
    : classifyIPv6(address.value as bigint) === 'loopback';
}

/** fe80::/10. */
export function isLinkLocal6(address: Address): boolean {
  return address.family === 'IPv6' && classifyIPv6(address.value as bigint) === 'link-local';
}

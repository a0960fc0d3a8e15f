/**
 * IPv6 addresses with zones (scope ids), as 128-bit bigints. Pure functions: parsing never
 * throws, whatever the text; only {@link parseIPv6CidrOption} throws, with a typed error.
 *
 * See docs/ipv6.md for how beckon uses them (zones, sender policy, multicast groups).
 */
import { InvalidOptionError } from '../errors.js';
import { formatIPv4, parseIPv4 } from './ipv4.js';

/** An IPv6 address: its 128 bits and, for a scoped (link-local) address, the zone. */
export interface IPv6Address {
  /** The address as an unsigned 128-bit integer. */
  readonly value: bigint;
  /**
   * The zone (`eth0` in `fe80::1%eth0`): the interface a scoped address belongs to. Node names
   * it by interface name on Linux and macOS, by number on Windows. Undefined when absent.
   */
  readonly zone: string | undefined;
}

/** What kind of address an IPv6 address is (the first matching range wins). */
export type IPv6Kind =
  /** `::` */
  | 'unspecified'
  /** `::1` */
  | 'loopback'
  /** `::ffff:0:0/96`: an IPv4 sender seen through a dual-stack socket. */
  | 'ipv4-mapped'
  /** `ff00::/8` */
  | 'multicast'
  /** `fe80::/10`: valid on one link only; needs a zone. */
  | 'link-local'
  /** `fc00::/7` (ULA, RFC 4193): routable inside a site, never on the Internet. */
  | 'unique-local'
  /** Anything else: global unicast (documentation and other special ranges included). */
  | 'global';

/** The longest address text without zone: `ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255`. */
export const MAX_ADDRESS_LENGTH = 45;
/** The longest zone accepted (Linux names are at most 15 characters). */
export const MAX_ZONE_LENGTH = 64;

const ALL_ONES = (1n << 128n) - 1n;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
/**
 * Characters a zone may hold: letters, digits and `-._~+:@` (every Linux, macOS and Windows
 * interface name or index we know of). Spaces, `%`, `/`, brackets and controls are refused.
 */
const ZONE = /^[A-Za-z0-9\-._~+:@]+$/;

/**
 * Parses IPv6 text: `2001:db8::1`, `fe80::1%eth0`, `::ffff:10.0.0.1`, case-insensitive.
 * Undefined for anything else: bad groups, more than one `::`, a bad or empty zone, a zone of
 * more than {@link MAX_ZONE_LENGTH} characters, text that is too long. Never throws.
 *
 * @example
 * parseIPv6('fe80::1%eth0'); // { value: 0xfe80...01n, zone: 'eth0' }
 */
export function parseIPv6(text: unknown): IPv6Address | undefined {
  if (typeof text !== 'string' || text.length > MAX_ADDRESS_LENGTH + 1 + MAX_ZONE_LENGTH) {
    return undefined;
  }
  const percent = text.indexOf('%');
  const address = percent < 0 ? text : text.slice(0, percent);
  const zone = percent < 0 ? undefined : text.slice(percent + 1);
  if (address.length > MAX_ADDRESS_LENGTH) return undefined;
  if (zone !== undefined && !isValidZone(zone)) return undefined;
  const value = parseBits(address);
  return value === undefined ? undefined : { value, zone };
}

/** Whether `zone` may be used as a zone: 1 to 64 characters of letters, digits and `-._~+:@`. */
export function isValidZone(zone: string): boolean {
  return zone.length > 0 && zone.length <= MAX_ZONE_LENGTH && ZONE.test(zone);
}

function parseBits(text: string): bigint | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): number[] | undefined => {
    if (part === '') return [];
    const parts = part.split(':');
    const groups: number[] = [];
    for (const [index, group] of parts.entries()) {
      if (index === parts.length - 1 && group.includes('.')) {
        const ipv4 = parseIPv4(group);
        if (ipv4 === undefined) return undefined;
        groups.push(ipv4 >>> 16, ipv4 & 0xffff);
      } else if (HEX_GROUP.test(group)) {
        groups.push(Number.parseInt(group, 16));
      } else {
        return undefined;
      }
    }
    return groups;
  };
  const head = groupsOf(halves[0] ?? '');
  const tail = halves.length === 2 ? groupsOf(halves[1] ?? '') : [];
  if (!head || !tail) return undefined;
  // An embedded IPv4 address may only end the address.
  if (halves.length === 2 && (halves[0] ?? '').includes('.')) return undefined;
  const explicit = head.length + tail.length;
  if (halves.length === 2 ? explicit > 7 : explicit !== 8) return undefined;
  const groups = [...head, ...new Array<number>(8 - explicit).fill(0), ...tail];
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(group), 0n);
}

/**
 * Formats an address the RFC 5952 way: lower case, no leading zeros, the longest run of two or
 * more zero groups (the first of equal runs) as `::`, an IPv4-mapped address as
 * `::ffff:a.b.c.d`; then `%zone` when there is one.
 *
 * @example
 * formatIPv6({ value: parseIPv6('FE80:0:0::01')!.value, zone: 'eth0' }); // 'fe80::1%eth0'
 */
export function formatIPv6(address: IPv6Address): string {
  const zone = address.zone === undefined ? '' : `%${address.zone}`;
  const value = address.value & ALL_ONES;
  if (classifyIPv6(value) === 'ipv4-mapped') {
    return `::ffff:${formatIPv4(Number(value & 0xffffffffn))}${zone}`;
  }
  const groups = Array.from({ length: 8 }, (_, i) =>
    Number((value >> BigInt(112 - 16 * i)) & 0xffffn),
  );
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length && j - i >= 2) best = { start: i, length: j - i };
    i = j;
  }
  const hex = groups.map((group) => group.toString(16));
  if (best.start < 0) return hex.join(':') + zone;
  const head = hex.slice(0, best.start).join(':');
  const tail = hex.slice(best.start + best.length).join(':');
  return `${head}::${tail}${zone}`;
}

/**
 * The canonical form of IPv6 text (see {@link formatIPv6}), zone kept; undefined when it does
 * not parse. Never throws.
 */
export function normalizeIPv6(text: unknown): string | undefined {
  const address = parseIPv6(text);
  return address && formatIPv6(address);
}

/**
 * The kind of an address value (zones do not matter).
 *
 * @example
 * classifyIPv6(parseIPv6('fd12::1')!.value); // 'unique-local'
 */
export function classifyIPv6(value: bigint): IPv6Kind {
  if (value === 0n) return 'unspecified';
  if (value === 1n) return 'loopback';
  if (value >> 32n === 0xffffn) return 'ipv4-mapped'; // ::ffff:0:0/96
  if (value >> 120n === 0xffn) return 'multicast'; // ff00::/8
  if (value >> 118n === 0x3fan) return 'link-local'; // fe80::/10
  if (value >> 121n === 0x7en) return 'unique-local'; // fc00::/7
  return 'global';
}

/** The IPv4 address an IPv4-mapped address (`::ffff:10.0.0.1`) carries, else undefined. */
export function mappedIPv4(value: bigint): string | undefined {
  return classifyIPv6(value) === 'ipv4-mapped'
    ? formatIPv4(Number(value & 0xffffffffn))
    : undefined;
}

/**
 * The scope of a multicast address (its fourth nibble: 1 interface, 2 link, 5 site, 8
 * organization, 14 global), or undefined for a unicast address.
 */
export function multicastScope(value: bigint): number | undefined {
  return classifyIPv6(value) === 'multicast' ? Number((value >> 112n) & 0xfn) : undefined;
}

/** An IPv6 network: base address (host bits clear) and prefix length, 0 to 128. */
export interface IPv6Cidr {
  readonly network: bigint;
  readonly prefix: number;
}

/** The netmask of an IPv6 prefix length as a 128-bit integer. */
export function ipv6PrefixMask(prefix: number): bigint {
  const bits = Math.min(128, Math.max(0, Math.trunc(prefix)));
  return bits === 0 ? 0n : (ALL_ONES << BigInt(128 - bits)) & ALL_ONES;
}

/**
 * Parses `2001:db8::/32` (host bits are cleared) or a bare address (as /128). A zone is refused:
 * a CIDR names a network, not a link. Undefined for anything else. Never throws.
 */
export function parseIPv6Cidr(text: unknown): IPv6Cidr | undefined {
  if (typeof text !== 'string' || text.length > MAX_ADDRESS_LENGTH + 4) return undefined;
  const [address = '', bits, extra] = text.trim().split('/');
  if (extra !== undefined || address.includes('%')) return undefined;
  const parsed = parseIPv6(address);
  const prefix = bits === undefined ? 128 : /^\d{1,3}$/.test(bits) ? Number(bits) : -1;
  if (!parsed || prefix < 0 || prefix > 128) return undefined;
  return { network: parsed.value & ipv6PrefixMask(prefix), prefix };
}

/**
 * Parses the IPv6 CIDRs of an option (`allow`, `interfaces`...), each `address/prefix` or a
 * bare address.
 *
 * @throws {InvalidOptionError} naming `option`, the bad entry and what is allowed, for an entry
 *   that is not an IPv6 CIDR (a zone, a prefix over 128, an IPv4 CIDR...).
 * @example
 * parseIPv6CidrOption('allow', ['fd00::/8', '2001:db8:1::/48']);
 */
export function parseIPv6CidrOption(option: string, entries: readonly unknown[]): IPv6Cidr[] {
  return entries.map((entry) => {
    const cidr = parseIPv6Cidr(entry);
    if (!cidr) {
      throw new InvalidOptionError(
        option,
        entry,
        'an IPv6 CIDR such as fd00::/8 or 2001:db8::/32, or a bare IPv6 address; no zone (%eth0), prefix 0 to 128',
      );
    }
    return cidr;
  });
}

/** Whether `value` lies inside `cidr`. */
export function ipv6CidrContains(cidr: IPv6Cidr, value: bigint): boolean {
  return (value & ipv6PrefixMask(cidr.prefix)) === cidr.network;
}

/** The prefix length of an IPv6 netmask (`ffff:ffff:ffff:ffff::` -> 64), else undefined. */
export function ipv6NetmaskPrefix(netmask: string): number | undefined {
  const mask = parseIPv6(netmask);
  if (!mask || mask.zone !== undefined) return undefined;
  for (let prefix = 0; prefix <= 128; prefix++) {
    if (ipv6PrefixMask(prefix) === mask.value) return prefix;
  }
  return undefined;
}

/**
 * The host part of a URL for `address` (IPv4 or IPv6 text): IPv4 as is, IPv6 in brackets with
 * the zone's `%` written `%25` as RFC 6874 requires (`[fe80::1%25eth0]`), canonical form.
 * Undefined for text that is neither. Never throws.
 */
export function urlHost(address: string): string | undefined {
  if (parseIPv4(address) !== undefined) return address;
  const parsed = parseIPv6(address);
  if (!parsed) return undefined;
  const zone = parsed.zone === undefined ? '' : `%25${encodeURIComponent(parsed.zone)}`;
  return `[${formatIPv6({ value: parsed.value, zone: undefined })}${zone}]`;
}

/**
 * A server's URL: `scheme://host:port` with {@link urlHost}, the shape beckon's results use
 * (`http://10.0.0.5:8080`, `http://[fe80::1%25eth0]:8080`). Undefined for a bad address.
 * Node's `new URL()` and `fetch()` refuse the zoned form: see docs/ipv6.md and
 * {@link httpRequestTarget}.
 */
export function serverUrl(scheme: string, address: string, port: number): string | undefined {
  const host = urlHost(address);
  return host && `${scheme}://${host}:${port}`;
}

/** What `http.request()` / `https.request()` need to reach an address, zone included. */
export interface HttpRequestTarget {
  readonly protocol: string;
  /** The host, with the zone after a raw `%` (`fe80::1%eth0`), which Node's `net` accepts. */
  readonly host: string;
  readonly port: number;
  readonly path: string;
  /** A `Host` header without the zone, which belongs to this host only. */
  readonly headers: { readonly host: string };
}

/**
 * Splits an `http(s)` URL (an RFC 6874 zoned one included, which `new URL()` refuses) into
 * options for `http.request()`. Undefined for anything else. Never throws.
 *
 * @example
 * http.get(httpRequestTarget('http://[fe80::1%25eth0]:8080/status')!, onResponse);
 */
export function httpRequestTarget(url: string): HttpRequestTarget | undefined {
  if (typeof url !== 'string' || url.length > 2048) return undefined;
  const match = /^(https?):\/\/\[([^\]]+)\](?::(\d{1,5}))?(\/[^\s#]*)?$/i.exec(url);
  if (!match) {
    if (!URL.canParse(url)) return undefined;
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined;
    const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
    return {
      protocol: parsed.protocol,
      host,
      port: Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80)),
      path: `${parsed.pathname}${parsed.search}`,
      headers: { host: parsed.host },
    };
  }
  const [, scheme = '', bracketed = '', portText, path] = match;
  const zoneAt = bracketed.indexOf('%25');
  let zone: string | undefined;
  if (zoneAt >= 0) {
    try {
      zone = decodeURIComponent(bracketed.slice(zoneAt + 3));
    } catch {
      return undefined;
    }
  }
  const address = parseIPv6(zoneAt >= 0 ? bracketed.slice(0, zoneAt) : bracketed);
  if (!address || address.zone !== undefined) return undefined; // a raw '%' is not RFC 6874
  if (zone !== undefined && !isValidZone(zone)) return undefined;
  const protocol = `${scheme.toLowerCase()}:`;
  const port = portText === undefined ? (protocol === 'https:' ? 443 : 80) : Number(portText);
  if (port < 1 || port > 65535) return undefined;
  const bare = formatIPv6({ value: address.value, zone: undefined });
  return {
    protocol,
    host: formatIPv6({ value: address.value, zone }),
    port,
    path: path ?? '/',
    headers: { host: portText === undefined ? `[${bare}]` : `[${bare}]:${port}` },
  };
}

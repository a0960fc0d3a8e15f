/** IPv4 arithmetic on 32-bit unsigned integers. Pure functions. */

const DOTTED = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Parses canonical dotted-decimal IPv4 (`10.0.0.1`, no leading zeros) to an integer. */
export function parseIPv4(text: string): number | undefined {
  if (!DOTTED.test(text)) return undefined;
  return text.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

/** Formats an integer as dotted-decimal IPv4. */
export function formatIPv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

/** The netmask of a prefix length as an integer (`24` -> 0xffffff00). */
export function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** The prefix length of a contiguous netmask (`255.255.255.0` -> 24), else undefined. */
export function netmaskPrefix(netmask: string): number | undefined {
  const mask = parseIPv4(netmask);
  if (mask === undefined) return undefined;
  for (let prefix = 0; prefix <= 32; prefix++) if (prefixMask(prefix) === mask) return prefix;
  return undefined;
}

/** A network: base address and prefix length. */
export interface Cidr {
  readonly network: number;
  readonly prefix: number;
}

/** Parses `a.b.c.d/n` (host bits are cleared) or a bare address (as /32). */
export function parseCidr(text: string): Cidr | undefined {
  const [address = '', bits, extra] = text.trim().split('/');
  if (extra !== undefined) return undefined;
  const ip = parseIPv4(address);
  const prefix = bits === undefined ? 32 : /^\d{1,2}$/.test(bits) ? Number(bits) : -1;
  if (ip === undefined || prefix < 0 || prefix > 32) return undefined;
  return { network: (ip & prefixMask(prefix)) >>> 0, prefix };
}

/** Whether `ip` lies inside `cidr`. */
export function cidrContains(cidr: Cidr, ip: number): boolean {
  return (ip & prefixMask(cidr.prefix)) >>> 0 === cidr.network;
}

/** Number of addresses a CIDR spans. */
export function cidrSize(cidr: Cidr): number {
  return 2 ** (32 - cidr.prefix);
}

/**
 * The directed broadcast address of `address/prefix`, or undefined for /31 and /32, which
 * have none (RFC 3021 point-to-point links and single hosts).
 */
export function broadcastAddress(address: string, prefix: number): string | undefined {
  const ip = parseIPv4(address);
  if (ip === undefined || prefix > 30) return undefined;
  return formatIPv4((ip | ~prefixMask(prefix)) >>> 0);
}

/** The host addresses of a CIDR: network and broadcast addresses are left out below /31. */
export function cidrHosts(cidr: Cidr): string[] {
  const size = cidrSize(cidr);
  const first = cidr.prefix >= 31 ? 0 : 1;
  const last = cidr.prefix >= 31 ? size - 1 : size - 2;
  const hosts: string[] = [];
  for (let i = first; i <= last; i++) hosts.push(formatIPv4(cidr.network + i));
  return hosts;
}

const range = (text: string): Cidr => parseCidr(text) as Cidr;
const LOOPBACK = range('127.0.0.0/8');
const LINK_LOCAL = range('169.254.0.0/16');
const RFC1918 = [range('10.0.0.0/8'), range('172.16.0.0/12'), range('192.168.0.0/16')];
const PRIVATE = [...RFC1918, range('100.64.0.0/10'), LINK_LOCAL, LOOPBACK];
const NEVER_A_SENDER = [range('0.0.0.0/8'), range('224.0.0.0/3')];

/** 127.0.0.0/8. */
export const isLoopback = (ip: number): boolean => cidrContains(LOOPBACK, ip);
/** 169.254.0.0/16. */
export const isLinkLocal = (ip: number): boolean => cidrContains(LINK_LOCAL, ip);
/** RFC 1918, carrier-grade NAT (100.64/10), link-local or loopback: not reachable from the Internet. */
export const isPrivate = (ip: number): boolean => PRIVATE.some((c) => cidrContains(c, ip));
/**
 * 10/8, 172.16/12, 192.168/16 (RFC 1918): an organisation's own private networks. Not
 * carrier-grade NAT (100.64/10), which a carrier shares among its subscribers, nor link-local.
 */
export const isRfc1918 = (ip: number): boolean => RFC1918.some((c) => cidrContains(c, ip));
/** 0.0.0.0/8, multicast and reserved (224/3, broadcast included): never a real requester. */
export const isUnspecifiedOrMulticast = (ip: number): boolean =>
  NEVER_A_SENDER.some((c) => cidrContains(c, ip));

/**
 * Planning a subnet scan (docs/beyond-one-lan.md, "Subnet scan"): the ranges a run may scan,
 * checked, and the order their addresses are probed in. Pure: no sockets, no clock. Addresses
 * are 32-bit integers, produced lazily; a /16 is never a list of 65,536 strings.
 */
import { InvalidOptionError } from '../errors.js';
import { cidrContains, formatIPv4, parseCidr, prefixMask } from '../network/ipv4.js';

/** The largest range a scan takes: a /16 (65,536 addresses). */
export const MIN_SCAN_PREFIX = 16;
/** Addresses a run may scan in all: four /16s. */
export const MAX_SCAN_ADDRESSES = 4 * 65_536;
/** Probes per second by default: a /16 in about 66 s. */
export const DEFAULT_SCAN_RATE = 1000;
/** The highest rate allowed. */
export const MAX_SCAN_RATE = 10_000;

/** One range of a scan, as given (`10.20.0.0/16`, or one address as a /32). */
export interface ScanRange {
  /** As the user wrote it, canonical: `10.20.0.0/16`, `10.20.5.7`. */
  readonly text: string;
  readonly network: number;
  readonly prefix: number;
}

const ALLOWED =
  'IPv4 CIDRs of at most a /16 (such as 10.20.0.0/16) or IPv4 addresses, or "auto" alone';

/**
 * Checks the `scan` option (or variable) and returns its ranges, or `'auto'`.
 *
 * @throws {InvalidOptionError} naming `option` for an IPv6 range, a range larger than a /16, a
 *   malformed entry, or more than {@link MAX_SCAN_ADDRESSES} addresses in all.
 */
export function parseScan(option: string, value: unknown): 'auto' | ScanRange[] {
  if (value === 'auto' || (Array.isArray(value) && value.length === 1 && value[0] === 'auto')) {
    return 'auto';
  }
  const entries = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new InvalidOptionError(option, value, ALLOWED);
  }
  const ranges: ScanRange[] = [];
  let total = 0;
  for (const entry of entries) {
    if (typeof entry !== 'string') throw new InvalidOptionError(option, entry, ALLOWED);
    const text = entry.trim();
    if (text === 'auto') {
      throw new InvalidOptionError(option, value, `"auto" alone, or ${ALLOWED.split(', or')[0]}`);
    }
    if (text.includes(':')) {
      throw new InvalidOptionError(
        option,
        entry,
        'IPv4 ranges only: an IPv6 subnet (a /64 has 2^64 addresses) cannot be scanned; ask IPv6 servers with targets, the IPv6 group, or a registry',
      );
    }
    const cidr = parseCidr(text);
    if (!cidr || !/^[\d.]+(\/\d{1,2})?$/.test(text)) {
      throw new InvalidOptionError(option, entry, ALLOWED);
    }
    if (cidr.prefix < MIN_SCAN_PREFIX) {
      const count = (2 ** (32 - cidr.prefix)).toLocaleString('en-US');
      throw new InvalidOptionError(
        option,
        entry,
        `ranges of at most a /16 (65,536 addresses; this one has ${count}): give its /16s one by one, the ones where servers may be`,
      );
    }
    total += 2 ** (32 - cidr.prefix);
    if (total > MAX_SCAN_ADDRESSES) {
      throw new InvalidOptionError(
        option,
        value,
        `at most ${MAX_SCAN_ADDRESSES.toLocaleString('en-US')} addresses in all (four /16s)`,
      );
    }
    const canonical = `${formatIPv4(cidr.network)}${cidr.prefix === 32 ? '' : `/${cidr.prefix}`}`;
    ranges.push({ text: canonical, network: cidr.network, prefix: cidr.prefix });
  }
  return ranges;
}

/** A run of consecutive addresses to probe, inside one /24. */
interface Span {
  first: number;
  last: number;
}

/** One /24 block of a scan: its spans, ascending and disjoint. */
interface Block {
  readonly base: number;
  readonly spans: Span[];
  distance: number;
}

/**
 * The addresses of a scan, in the order they are probed: the ranges cut into /24 blocks, the
 * blocks nearest (numerically) to one of `own` first (its own /24 first), each block
 * ascending. Left out: each range's network and broadcast addresses (ranges of /30 and larger),
 * and `own`, this host's addresses. Overlapping ranges are probed once.
 */
export class ScanPlan {
  readonly ranges: readonly ScanRange[];
  /** Addresses that will be probed. */
  readonly total: number;
  readonly #blocks: Block[];
  readonly #skip: Set<number>;

  constructor(ranges: readonly ScanRange[], own: readonly number[] = []) {
    this.ranges = ranges;
    this.#skip = new Set(own);
    const blocks = new Map<number, Block>();
    for (const { network, prefix } of ranges) {
      const size = 2 ** (32 - prefix);
      if (prefix <= 30) {
        this.#skip.add(network);
        this.#skip.add(network + size - 1);
      }
      for (let base = (network & prefixMask(24)) >>> 0; base < network + size; base += 256) {
        const first = Math.max(base, network);
        const last = Math.min(base + 255, network + size - 1);
        let block = blocks.get(base);
        if (!block) {
          block = { base, spans: [], distance: 0 };
          blocks.set(base, block);
        }
        block.spans.push({ first, last });
      }
    }
    const owns = own.map((ip) => (ip & prefixMask(24)) >>> 0);
    let total = 0;
    for (const block of blocks.values()) {
      block.spans.splice(0, block.spans.length, ...merge(block.spans));
      block.distance =
        owns.length === 0 ? 0 : Math.min(...owns.map((base) => Math.abs(base - block.base)));
      for (const { first, last } of block.spans) {
        total += last - first + 1;
        for (const ip of this.#skip) if (ip >= first && ip <= last) total--;
      }
    }
    this.total = total;
    this.#blocks = [...blocks.values()].sort((a, b) => a.distance - b.distance || a.base - b.base);
  }

  /** The addresses to probe, in order (as integers). */
  *addresses(): Generator<number, void> {
    for (const block of this.#blocks) {
      for (const { first, last } of block.spans) {
        for (let ip = first; ip <= last; ip++) if (!this.#skip.has(ip)) yield ip;
      }
    }
  }

  /** Whether `ip` is inside one of the ranges. */
  contains(ip: number): boolean {
    return this.ranges.some((range) => cidrContains(range, ip));
  }
}

function merge(spans: readonly Span[]): Span[] {
  const sorted = [...spans].sort((a, b) => a.first - b.first);
  const merged: Span[] = [];
  for (const span of sorted) {
    const last = merged.at(-1);
    if (last && span.first <= last.last + 1) last.last = Math.max(last.last, span.last);
    else merged.push({ ...span });
  }
  return merged;
}

/**
 * What `scan: 'auto'` scans for one interface: its subnet, or when that is larger than a /16 the
 * /16 around its address.
 */
export function autoRange(address: number, prefix: number): ScanRange {
  const bits = Math.max(prefix, MIN_SCAN_PREFIX);
  const network = (address & prefixMask(bits)) >>> 0;
  return { text: `${formatIPv4(network)}/${bits}`, network, prefix: bits };
}

/** How long probing `count` addresses at `rate` per second takes, in milliseconds. */
export function scanDuration(count: number, rate: number): number {
  return Math.ceil((count / rate) * 1000);
}

/** An interface whose subnet a scan's range overlaps: probes to it need a neighbour entry each. */
export interface OnLinkRange {
  readonly range: ScanRange;
  /** The interface's name. */
  readonly interface: string;
}

/**
 * The first range that overlaps the subnet of a local interface other than loopback: its
 * addresses are on-link, so each probe first needs a neighbour (ARP) entry of its own, where a
 * routed range's probes all go to one router.
 */
export function findOnLinkRange(
  ranges: readonly ScanRange[],
  interfaces: readonly { name: string; address: string; prefix: number; loopback: boolean }[],
): OnLinkRange | undefined {
  for (const iface of interfaces) {
    const ip = parseCidr(iface.address);
    if (iface.loopback || !ip) continue;
    const subnet = { network: (ip.network & prefixMask(iface.prefix)) >>> 0, prefix: iface.prefix };
    const range = ranges.find(
      (r) => cidrContains(subnet, r.network) || cidrContains(r, subnet.network),
    );
    if (range) return { range, interface: iface.name };
  }
  return undefined;
}

/**
 * How many addresses of `ranges` lie on the subnet of a local interface other than loopback
 * (each probe to one needs a neighbour entry of its own). A /16 scanned from a /24 inside it
 * has 256 such addresses, the client's own segment; scanned from the /16 itself, all of them.
 */
export function onLinkAddresses(
  ranges: readonly ScanRange[],
  interfaces: readonly { address: string; prefix: number; loopback: boolean }[],
): number {
  let total = 0;
  for (const iface of interfaces) {
    const ip = parseCidr(iface.address);
    if (iface.loopback || !ip) continue;
    const subnet = { network: (ip.network & prefixMask(iface.prefix)) >>> 0, prefix: iface.prefix };
    for (const range of ranges) {
      if (cidrContains(subnet, range.network) || cidrContains(range, subnet.network)) {
        total += 2 ** (32 - Math.max(range.prefix, subnet.prefix));
      }
    }
  }
  return total;
}

/**
 * The highest rate at which an on-link scan keeps every probe: a probe to an address that does
 * not answer holds a neighbour entry for about 3 s (3 ARP requests a second apart), and past
 * the table's hard limit (`gc_thresh3`, 1024 by default on Linux) the kernel drops new probes
 * without an error. A quarter of the limit a second keeps well under it.
 */
export function onLinkRate(neighbourLimit: number): number {
  return Math.max(1, Math.floor(neighbourLimit / 4));
}

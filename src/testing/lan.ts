/** A simulated LAN (a broadcast domain) and the links of hosts on it. */
import { InvalidOptionError } from '../errors.js';
import { broadcastAddress, formatIPv4, parseCidr, prefixMask } from '../network/ipv4.js';
import { formatIPv6, type IPv6Cidr, ipv6CidrContains, parseIPv6Cidr } from '../network/ipv6.js';
import { type Address, parseAddress } from './addresses.js';
import type { TestHost } from './host.js';

/** Options of `network.lan()`. */
export interface LanOptions {
  /** A name for messages and for `host.link(name)`. */
  readonly name: string;
  /** The IPv4 subnet, e.g. `10.0.0.0/24`. */
  readonly ipv4?: string;
  /** The IPv6 subnet, e.g. `fd00:1::/64`; hosts also get a link-local address on it. */
  readonly ipv6?: string;
}

/** A broadcast domain. */
export class TestLan {
  readonly name: string;
  readonly ipv4: { readonly network: number; readonly prefix: number } | undefined;
  readonly ipv6: IPv6Cidr | undefined;
  /** Fraction of datagrams lost on it, per receiving host (see `network.loss()`). */
  lossRate = 0;
  /** Milliseconds every datagram takes across it (see `network.latency()`). */
  latencyMs = 0;
  /** @internal */
  readonly links = new Set<Link>();
  #nextV4: number;
  #nextV6: bigint;

  /** @internal */
  constructor(options: LanOptions) {
    this.name = options.name;
    if (options.ipv4 !== undefined) {
      const cidr = parseCidr(options.ipv4);
      if (!cidr || cidr.prefix > 30) {
        throw new InvalidOptionError('ipv4', options.ipv4, 'an IPv4 subnet such as 10.0.0.0/24');
      }
      this.ipv4 = cidr;
    } else this.ipv4 = undefined;
    if (options.ipv6 !== undefined) {
      const cidr = parseIPv6Cidr(options.ipv6);
      if (!cidr || cidr.prefix > 120) {
        throw new InvalidOptionError('ipv6', options.ipv6, 'an IPv6 subnet such as fd00:1::/64');
      }
      this.ipv6 = cidr;
    } else this.ipv6 = undefined;
    this.#nextV4 = 10;
    this.#nextV6 = 0x10n;
  }

  /** The directed broadcast address, when the LAN has IPv4. */
  get broadcast(): string | undefined {
    return this.ipv4
      ? broadcastAddress(formatIPv4(this.ipv4.network), this.ipv4.prefix)
      : undefined;
  }

  /** Whether `address` is inside this LAN's subnet. */
  contains(address: Address): boolean {
    if (address.family === 'IPv4') {
      if (!this.ipv4) return false;
      return ((address.value as number) & prefixMask(this.ipv4.prefix)) >>> 0 === this.ipv4.network;
    }
    return this.ipv6 !== undefined && ipv6CidrContains(this.ipv6, address.value as bigint);
  }

  /**
   * @internal The next address nobody on the LAN has: from `.10` / `::10` on, wrapping to `.1`
   * in a subnet too small for that; never the subnet's own address nor (IPv4) its broadcast one.
   * Throws InvalidOptionError when the LAN is full.
   */
  allocate(family: 'IPv4' | 'IPv6'): string {
    const taken = new Set([...this.links].flatMap((link) => [link.ipv4, link.ipv6]));
    if (family === 'IPv4') {
      const network = this.ipv4?.network ?? 0;
      const hosts = 2 ** (32 - (this.ipv4?.prefix ?? 0)) - 2;
      for (let tries = Math.min(hosts, taken.size + 1); tries > 0; tries--) {
        const offset = ((this.#nextV4++ - 1) % hosts) + 1;
        const text = formatIPv4((network + offset) >>> 0);
        if (!taken.has(text)) return text;
      }
    } else {
      const network = this.ipv6?.network ?? 0n;
      const hosts = 2n ** BigInt(128 - (this.ipv6?.prefix ?? 0)) - 1n;
      const most = BigInt(taken.size + 1);
      for (let tries = hosts < most ? hosts : most; tries > 0n; tries--) {
        const offset = ((this.#nextV6++ - 1n) % hosts) + 1n;
        const text = formatIPv6({ value: network + offset, zone: undefined });
        if (!taken.has(text)) return text;
      }
    }
    throw new InvalidOptionError(
      'interfaces[].lan',
      this.name,
      `a LAN with a free ${family} address (give the interface's address, or use a larger subnet)`,
    );
  }
}

/** @internal One interface of a host on a LAN. */
export class Link {
  up = true;
  ipv4: string | undefined;
  ipv6: string | undefined;
  constructor(
    readonly host: TestHost,
    readonly lan: TestLan,
    readonly name: string,
    readonly index: number,
    readonly linkLocal: string | undefined,
  ) {}

  /** Whether `address` (canonical text) is one of this link's. */
  owns(address: string): boolean {
    return address === this.ipv4 || address === this.ipv6 || address === this.linkLocal;
  }
}

/** `text` as a canonical address of `family` inside `lan`; throws InvalidOptionError otherwise. */
export function checked(
  text: string,
  family: 'IPv4' | 'IPv6',
  lan: TestLan,
  option: string,
): string {
  const parsed = parseAddress(text);
  if (!parsed || parsed.family !== family || !lan.contains(parsed)) {
    throw new InvalidOptionError(
      option,
      text,
      `an ${family} address inside LAN ${lan.name}'s subnet`,
    );
  }
  return parsed.text;
}

/**
 * The simulated network: LANs (broadcast domains), hosts with links on them, routers between
 * LANs, and the faults a test injects. Datagrams are delivered with `setTimeout(fn, latency)`,
 * so mocked timers (node:test `mock.timers`, Vitest fake timers) drive delivery.
 */
import type { Socket } from 'node:dgram';
import { InvalidOptionError } from '../errors.js';
import type { InterfaceProvider, NetworkInterface } from '../network/interfaces.js';
import type { IPv6InterfaceAddress, IPv6InterfaceProvider } from '../network/interfaces6.js';
import { broadcastAddress, formatIPv4, parseCidr, prefixMask } from '../network/ipv4.js';
import { formatIPv6, type IPv6Cidr, ipv6CidrContains, parseIPv6Cidr } from '../network/ipv6.js';
import type { SocketFactory } from '../network/socket.js';
import {
  type Address,
  isLinkLocal6,
  isLoopbackAddress,
  isMulticast,
  isWildcard,
  parseAddress,
} from './addresses.js';
import { systemError } from './errors.js';
import { ipv4Entries, ipv6Entries, type LinkView } from './interfaces.js';
import { seededRandom } from './prng.js';
import { type SocketHost, TestSocket, type TestSocketOptions } from './socket.js';

/** Options of {@link TestNetwork.lan}. */
export interface LanOptions {
  /** A name for messages and for `host.link(name)`. */
  readonly name: string;
  /** The IPv4 subnet, e.g. `10.0.0.0/24`. */
  readonly ipv4?: string;
  /** The IPv6 subnet, e.g. `fd00:1::/64`; hosts also get a link-local address on it. */
  readonly ipv6?: string;
}

/** One interface of a host in {@link HostOptions}. */
export interface InterfaceOptions {
  /** The LAN it is on. */
  readonly lan: TestLan;
  /** Interface name; `eth0`, `eth1`... by order. */
  readonly name?: string;
  /** Its IPv4 address; the next free one of the LAN when omitted (LANs with IPv4). */
  readonly ipv4?: string;
  /** Its IPv6 address; the next free one of the LAN when omitted (LANs with IPv6). */
  readonly ipv6?: string;
}

/** Options of {@link TestNetwork.host}. */
export interface HostOptions {
  readonly name: string;
  readonly interfaces: readonly InterfaceOptions[];
}

/** Options of {@link TestNetwork.router}. */
export interface RouterOptions {
  readonly name?: string;
  /** The LANs it forwards unicast between (one hop; TTL is ignored). */
  readonly lans: readonly TestLan[];
}

/** Options of {@link createTestNetwork}. */
export interface TestNetworkOptions {
  /** Seed of the generator that decides which datagrams are lost. @default 1 */
  readonly seed?: number;
}

/** A broadcast domain. */
export class TestLan {
  readonly name: string;
  readonly ipv4: { readonly network: number; readonly prefix: number } | undefined;
  readonly ipv6: IPv6Cidr | undefined;
  /** Fraction of datagrams lost on it, per receiving host (see {@link TestNetwork.loss}). */
  lossRate = 0;
  /** Milliseconds every datagram takes across it (see {@link TestNetwork.latency}). */
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

  /** @internal The next address nobody on the LAN has. */
  allocate(family: 'IPv4' | 'IPv6'): string {
    const taken = new Set([...this.links].flatMap((link) => [link.ipv4, link.ipv6]));
    for (;;) {
      const text =
        family === 'IPv4'
          ? formatIPv4((((this.ipv4?.network ?? 0) + this.#nextV4++) >>> 0) as number)
          : formatIPv6({ value: (this.ipv6?.network ?? 0n) + this.#nextV6++, zone: undefined });
      if (!taken.has(text)) return text;
    }
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

/** Turns one of a host's links down and up again. */
export interface LinkControl {
  /** The interface goes away: providers no longer list it, its datagrams are dropped. */
  down(): void;
  /** The interface comes back. */
  up(): void;
  /** Whether it is up. */
  readonly isUp: boolean;
}

/** What beckon's `createResponder` / `attachDiscovery` take to run on a simulated host. */
export interface SimulatedResponderOptions {
  readonly socketFactory: SocketFactory;
  readonly interfaceProvider: InterfaceProvider;
  readonly interfaceProvider6: IPv6InterfaceProvider;
  /** Off: host sharing talks over real host-local sockets. */
  readonly shareHost: false;
  /** Off: a worker thread cannot use the injected functions. */
  readonly worker: false;
}

/** What beckon's `discover`, `discoverOne` and `watch` take to run on a simulated host. */
export interface SimulatedClientOptions {
  readonly socketFactory: SocketFactory;
  readonly interfaceProvider: InterfaceProvider;
  readonly interfaceProvider6: IPv6InterfaceProvider;
}

const EPHEMERAL_LOW = 32768;
const EPHEMERAL_HIGH = 60999;

/** A simulated machine: its links, its sockets, and what beckon injects to run on it. */
export class TestHost {
  readonly name: string;
  /** Creates the host's simulated UDP sockets: pass it as beckon's `socketFactory`. */
  readonly socketFactory: SocketFactory;
  /** The host's IPv4 interfaces (loopback included): beckon's `interfaceProvider`. */
  readonly interfaceProvider: InterfaceProvider;
  /** The host's IPv6 addresses (`::1` included): beckon's `interfaceProvider6`. */
  readonly interfaceProvider6: IPv6InterfaceProvider;
  /** @internal */
  readonly links: Link[] = [];
  /** @internal Open sockets, in bind order. */
  readonly sockets: TestSocket[] = [];
  #vanished = false;
  #nextPort = EPHEMERAL_LOW;
  readonly #network: TestNetwork;

  /** @internal */
  constructor(network: TestNetwork, options: HostOptions, number: number) {
    this.#network = network;
    this.name = options.name;
    if (!Array.isArray(options.interfaces)) {
      throw new InvalidOptionError(
        'interfaces',
        options.interfaces,
        'an array of { lan, ipv4?, ipv6? }',
      );
    }
    options.interfaces.forEach((spec, i) => {
      if (!(spec?.lan instanceof TestLan)) {
        throw new InvalidOptionError('interfaces[].lan', spec?.lan, 'a LAN made by network.lan()');
      }
      const lan = spec.lan;
      const linkLocal = lan.ipv6
        ? formatIPv6({
            value: (0xfe80n << 112n) | (BigInt(number) << 16n) | BigInt(i + 1),
            zone: undefined,
          })
        : undefined;
      const link = new Link(this, lan, spec.name ?? `eth${i}`, i + 2, linkLocal);
      link.ipv4 = lan.ipv4
        ? checked(spec.ipv4 ?? lan.allocate('IPv4'), 'IPv4', lan, 'ipv4')
        : undefined;
      link.ipv6 = lan.ipv6
        ? checked(spec.ipv6 ?? lan.allocate('IPv6'), 'IPv6', lan, 'ipv6')
        : undefined;
      if (spec.ipv4 !== undefined && !lan.ipv4) {
        throw new InvalidOptionError(
          'ipv4',
          spec.ipv4,
          `nothing: LAN ${lan.name} has no IPv4 subnet`,
        );
      }
      if (spec.ipv6 !== undefined && !lan.ipv6) {
        throw new InvalidOptionError(
          'ipv6',
          spec.ipv6,
          `nothing: LAN ${lan.name} has no IPv6 subnet`,
        );
      }
      lan.links.add(link);
      this.links.push(link);
    });
    const socketHost = this.#socketHost();
    this.socketFactory = (options) =>
      new TestSocket(socketHost, options as TestSocketOptions) as unknown as Socket;
    this.interfaceProvider = (): NetworkInterface[] => ipv4Entries(this.#views());
    this.interfaceProvider6 = (): IPv6InterfaceAddress[] => ipv6Entries(this.#views());
  }

  /** Whether {@link vanish} was called. */
  get vanished(): boolean {
    return this.#vanished;
  }

  /** This host's first IPv4 address (on its first link with one), for tests' expectations. */
  get ipv4(): string | undefined {
    return this.links.find((link) => link.ipv4 !== undefined)?.ipv4;
  }

  /** This host's first global or unique-local IPv6 address. */
  get ipv6(): string | undefined {
    return this.links.find((link) => link.ipv6 !== undefined)?.ipv6;
  }

  /** The address of this host's link on `lan` (by LAN or its name). */
  address(lan: TestLan | string, family: 'IPv4' | 'IPv6' = 'IPv4'): string | undefined {
    const link = this.#link(lan);
    return family === 'IPv4' ? link.ipv4 : link.ipv6;
  }

  /** Controls this host's interface on `lan` (a LAN, its name, or the interface's name). */
  link(lan: TestLan | string): LinkControl {
    const link = this.#link(lan);
    return {
      down: () => {
        link.up = false;
      },
      up: () => {
        link.up = true;
      },
      get isUp() {
        return link.up;
      },
    };
  }

  /** Changes the addresses of this host's interface on `lan`; sockets bound to the old one go deaf. */
  setAddress(lan: TestLan | string, addresses: { ipv4?: string; ipv6?: string }): void {
    const link = this.#link(lan);
    if (addresses.ipv4 !== undefined) link.ipv4 = checked(addresses.ipv4, 'IPv4', link.lan, 'ipv4');
    if (addresses.ipv6 !== undefined) link.ipv6 = checked(addresses.ipv6, 'IPv6', link.lan, 'ipv6');
  }

  /** Powers the host off: it sends and receives nothing from now on, and says no goodbye. */
  vanish(): void {
    this.#vanished = true;
  }

  /** @internal Hands a datagram arriving on `link` (undefined: loopback) to this host's sockets. */
  receive(
    link: Link | undefined,
    to: Address,
    port: number,
    data: Buffer,
    from: { address: Address; port: number },
    kind: 'unicast' | 'broadcast' | 'multicast',
    sender: TestSocket,
  ): void {
    if (this.#vanished || (link && !link.up)) return;
    const family = to.family;
    const candidates = this.sockets.filter(
      (socket) =>
        !socket.closed &&
        socket.family === family &&
        socket.port === port &&
        socket.local !== undefined &&
        (isWildcard(socket.local) || socket.local.text === to.text),
    );
    if (kind === 'multicast') {
      if (!link) return;
      const member = `${to.text}|${link.name}`;
      if (!this.sockets.some((socket) => socket.memberships.has(member))) return;
      if (sender.local && this.sockets.includes(sender) && !sender.multicastLoop) return;
    }
    const address =
      isLinkLocal6(from.address) && link ? `${from.address.text}%${link.name}` : from.address.text;
    const remote = { address, port: from.port };
    if (kind === 'unicast') {
      // One socket gets a unicast datagram: the one bound to the address, else the latest bound.
      const exact = candidates.find((socket) => socket.local?.text === to.text);
      const chosen = exact ?? candidates[candidates.length - 1];
      chosen?.deliver(data, remote);
      return;
    }
    for (const socket of candidates) socket.deliver(data, remote);
  }

  #link(lan: TestLan | string): Link {
    const link = this.links.find(
      (candidate) => candidate.lan === lan || candidate.lan.name === lan || candidate.name === lan,
    );
    if (!link) {
      const name = typeof lan === 'string' ? lan : lan.name;
      throw new InvalidOptionError('lan', name, `a LAN or interface of host ${this.name}`);
    }
    return link;
  }

  #views(): LinkView[] {
    const views: LinkView[] = [
      {
        name: 'lo',
        index: 1,
        loopback: true,
        ipv4: { address: '127.0.0.1', prefix: 8 },
        ipv6: [{ address: '::1', prefix: 128 }],
      },
    ];
    for (const link of this.links) {
      if (!link.up) continue;
      const ipv6 = [
        ...(link.ipv6 && link.lan.ipv6
          ? [{ address: link.ipv6, prefix: link.lan.ipv6.prefix }]
          : []),
        ...(link.linkLocal ? [{ address: link.linkLocal, prefix: 64 }] : []),
      ];
      views.push({
        name: link.name,
        index: link.index,
        loopback: false,
        ipv4:
          link.ipv4 && link.lan.ipv4
            ? { address: link.ipv4, prefix: link.lan.ipv4.prefix }
            : undefined,
        ipv6,
      });
    }
    return views;
  }

  /** The up link holding `address`, 'lo' for loopback, undefined when none. */
  #owner(address: Address): Link | 'lo' | undefined {
    if (isLoopbackAddress(address)) return 'lo';
    return this.links.find((link) => link.up && link.owns(address.text));
  }

  #socketHost(): SocketHost {
    return {
      bind: (socket, address, port) => this.#bind(socket, address, port),
      release: (socket) => {
        const at = this.sockets.indexOf(socket);
        if (at >= 0) this.sockets.splice(at, 1);
      },
      membershipLink: (socket, via) => this.#membershipLink(socket, via),
      source: (socket, to) => {
        const route = this.#network.route(this, socket, to);
        return route instanceof Error ? route : route.source;
      },
      send: (socket, data, port, to) => this.#network.send(this, socket, data, port, to),
    };
  }

  #bind(socket: TestSocket, address: Address, port: number): number {
    const lan = this.links.find((link) => link.up && link.lan.broadcast === address.text);
    if (!isWildcard(address) && !isMulticast(address) && !lan && !this.#owner(address)) {
      throw systemError('EADDRNOTAVAIL', 'bind', address.text, port);
    }
    const clashes = (candidate: number) =>
      this.sockets.some(
        (other) =>
          other !== socket &&
          !other.closed &&
          other.family === socket.family &&
          other.port === candidate &&
          other.local !== undefined &&
          (isWildcard(other.local) || isWildcard(address) || other.local.text === address.text) &&
          !(other.reuseAddr && socket.reuseAddr),
      );
    let chosen = port;
    if (port === 0) {
      for (let i = 0; i <= EPHEMERAL_HIGH - EPHEMERAL_LOW; i++) {
        const candidate = this.#nextPort;
        this.#nextPort = candidate >= EPHEMERAL_HIGH ? EPHEMERAL_LOW : candidate + 1;
        if (!clashes(candidate)) {
          chosen = candidate;
          break;
        }
      }
      if (chosen === 0) throw systemError('EADDRINUSE', 'bind', address.text, 0);
    } else if (clashes(port)) {
      throw systemError('EADDRINUSE', 'bind', address.text, port);
    }
    this.sockets.push(socket);
    return chosen;
  }

  #membershipLink(socket: TestSocket, via: string | undefined): string | undefined {
    if (via === undefined) {
      const first = this.links.find(
        (link) => link.up && (socket.family === 'IPv4' ? link.ipv4 : (link.linkLocal ?? link.ipv6)),
      );
      return first?.name;
    }
    const parsed = parseAddress(via);
    if (!parsed || parsed.family !== socket.family) return undefined;
    if (parsed.zone !== undefined) {
      return parsed.zone === 'lo' || this.links.some((link) => link.name === parsed.zone)
        ? parsed.zone
        : undefined;
    }
    const owner = this.#owner(parsed);
    return owner === 'lo' ? 'lo' : owner?.name;
  }
}

/** Where a datagram goes: this host only, or out of a link onto a LAN. */
export type Route =
  | { readonly kind: 'local'; readonly source: Address }
  | {
      readonly kind: 'lan';
      readonly source: Address;
      readonly out: Link;
      readonly lan: TestLan;
      readonly scope: 'unicast' | 'broadcast' | 'multicast';
    };

/** A simulated network: see {@link createTestNetwork}. */
export class TestNetwork {
  readonly #random: () => number;
  readonly #lans: TestLan[] = [];
  readonly #hosts: TestHost[] = [];
  readonly #routers: { name: string; lans: readonly TestLan[] }[] = [];

  /** @internal */
  constructor(options: TestNetworkOptions = {}) {
    const seed = options.seed ?? 1;
    if (!Number.isInteger(seed)) throw new InvalidOptionError('seed', seed, 'an integer');
    this.#random = seededRandom(seed);
  }

  /** Adds a LAN (a broadcast domain) with an IPv4 and/or IPv6 subnet. */
  lan(options: LanOptions): TestLan {
    if (!options.ipv4 && !options.ipv6) {
      throw new InvalidOptionError('lan', options.name, 'a LAN with ipv4 or ipv6 (or both)');
    }
    const lan = new TestLan(options);
    this.#lans.push(lan);
    return lan;
  }

  /** Adds a host with one interface per entry of `interfaces`, plus loopback (`lo`). */
  host(options: HostOptions): TestHost {
    const host = new TestHost(this, options, this.#hosts.length + 1);
    this.#hosts.push(host);
    return host;
  }

  /** Adds a router that forwards unicast between `lans` (one hop; no broadcast, no multicast). */
  router(options: RouterOptions): void {
    this.#routers.push({
      name: options.name ?? `router${this.#routers.length + 1}`,
      lans: options.lans,
    });
  }

  /** Loses `fraction` (0 to 1) of the datagrams crossing `lan`, decided by the seeded generator. */
  loss(lan: TestLan, fraction: number): void {
    if (!(fraction >= 0 && fraction <= 1)) {
      throw new InvalidOptionError('fraction', fraction, 'a number from 0 to 1');
    }
    lan.lossRate = fraction;
  }

  /** Every datagram crossing `lan` takes `ms` milliseconds (a timer: mocked timers advance it). */
  latency(lan: TestLan, ms: number): void {
    if (!(Number.isFinite(ms) && ms >= 0)) throw new InvalidOptionError('ms', ms, 'a number >= 0');
    lan.latencyMs = ms;
  }

  /** The options that make `createResponder` / `attachDiscovery` run on `host`. */
  responderOptions(host: TestHost): SimulatedResponderOptions {
    return {
      socketFactory: host.socketFactory,
      interfaceProvider: host.interfaceProvider,
      interfaceProvider6: host.interfaceProvider6,
      shareHost: false,
      worker: false,
    };
  }

  /**
   * The options that make `attachDiscovery` (beckon/http) and the framework integrations run on
   * `host`: {@link responderOptions} with `enabled: true`, as they stay off in a test run.
   */
  attachOptions(host: TestHost): SimulatedResponderOptions & { readonly enabled: true } {
    return { ...this.responderOptions(host), enabled: true };
  }

  /** The options that make `discover`, `discoverOne` and `watch` run on `host`. */
  clientOptions(host: TestHost): SimulatedClientOptions {
    return {
      socketFactory: host.socketFactory,
      interfaceProvider: host.interfaceProvider,
      interfaceProvider6: host.interfaceProvider6,
    };
  }

  /** @internal Where a datagram from `socket` on `host` to `to` goes, or the error of sending it. */
  route(host: TestHost, socket: TestSocket, to: Address): Route | Error {
    const bound =
      socket.local && !isWildcard(socket.local) && !isMulticast(socket.local)
        ? socket.local
        : undefined;
    const boundLink = bound ? host.links.find((link) => link.owns(bound.text)) : undefined;
    const unreachable = () => systemError('ENETUNREACH', 'send', to.text);
    if (isLoopbackAddress(to)) return { kind: 'local', source: bound ?? to };
    if (host.links.some((link) => link.up && link.owns(to.text))) {
      return { kind: 'local', source: bound ?? to };
    }
    const upLinks = host.links.filter((link) => link.up);
    const sourceOf = (
      link: Link,
      scope: 'unicast' | 'broadcast' | 'multicast',
    ): Address | undefined => {
      if (bound) return bound;
      const text =
        to.family === 'IPv4'
          ? link.ipv4
          : scope === 'multicast' || isLinkLocal6(to)
            ? (link.linkLocal ?? link.ipv6)
            : link.ipv6;
      return text === undefined ? undefined : parseAddress(text);
    };
    const lanRoute = (
      link: Link | undefined,
      lan: TestLan | undefined,
      scope: 'unicast' | 'broadcast' | 'multicast',
    ) => {
      if (!link || !lan) return unreachable();
      const source = sourceOf(link, scope);
      return source ? ({ kind: 'lan', source, out: link, lan, scope } as const) : unreachable();
    };
    if (to.family === 'IPv4') {
      const directed = upLinks.find((link) => link.lan.broadcast === to.text);
      if (to.text === '255.255.255.255' || directed) {
        if (!socket.broadcast) return systemError('EACCES', 'send', to.text);
        const link = directed ?? (boundLink?.up ? boundLink : upLinks.find((l) => l.ipv4));
        return lanRoute(link, link?.lan, 'broadcast');
      }
    }
    if (isMulticast(to)) {
      const named = socket.multicastInterface ?? to.zone;
      const link =
        (named === undefined ? undefined : upLinks.find((l) => l.name === named)) ??
        (boundLink?.up ? boundLink : undefined) ??
        upLinks.find((l) => (to.family === 'IPv4' ? l.ipv4 : l.linkLocal));
      if (named === 'lo')
        return {
          kind: 'local',
          source: bound ?? parseAddress(to.family === 'IPv4' ? '127.0.0.1' : '::1') ?? to,
        };
      return lanRoute(link, link?.lan, 'multicast');
    }
    if (isLinkLocal6(to)) {
      const link =
        upLinks.find((l) => l.name === to.zone) ?? (boundLink?.up ? boundLink : undefined);
      return lanRoute(link, link?.lan, 'unicast');
    }
    const onLink =
      upLinks.find((l) => l.lan.contains(to) && (!boundLink || l === boundLink)) ??
      upLinks.find((l) => l.lan.contains(to));
    if (onLink) return lanRoute(onLink, onLink.lan, 'unicast');
    for (const link of upLinks) {
      for (const router of this.#routers) {
        if (!router.lans.includes(link.lan)) continue;
        const far = router.lans.find((lan) => lan !== link.lan && lan.contains(to));
        if (far) return lanRoute(link, far, 'unicast');
      }
    }
    return unreachable();
  }

  /** @internal Sends a datagram; returns the error the sender's callback gets, if any. */
  send(
    host: TestHost,
    socket: TestSocket,
    data: Buffer,
    port: number,
    to: Address,
  ): Error | undefined {
    const route = this.route(host, socket, to);
    if (route instanceof Error) return route;
    if (host.vanished) return undefined; // powered off: nothing leaves
    if (
      socket.local &&
      !isWildcard(socket.local) &&
      !isLoopbackAddress(socket.local) &&
      !host.links.some((link) => link.up && link.owns(socket.local?.text ?? ''))
    ) {
      return undefined; // bound to an address the host no longer has (link down, address changed)
    }
    const from = { address: route.source, port: socket.port };
    if (route.kind === 'local') {
      later(0, () => host.receive(undefined, to, port, data, from, 'unicast', socket));
      return undefined;
    }
    const delay = route.lan.latencyMs + (route.lan === route.out.lan ? 0 : route.out.lan.latencyMs);
    later(delay, () => this.#deliver(route, to, port, data, from, socket));
    return undefined;
  }

  #deliver(
    route: Extract<Route, { kind: 'lan' }>,
    to: Address,
    port: number,
    data: Buffer,
    from: { address: Address; port: number },
    sender: TestSocket,
  ): void {
    if (!route.out.up || route.out.host.vanished) return;
    const lost = (lan: TestLan) => lan.lossRate > 0 && this.#random() < lan.lossRate;
    for (const link of route.lan.links) {
      if (!link.up || link.host.vanished) continue;
      if (route.scope === 'unicast' && !link.owns(to.text)) continue;
      if (lost(route.lan) || (route.lan !== route.out.lan && lost(route.out.lan))) continue;
      link.host.receive(link, to, port, data, from, route.scope, sender);
    }
  }
}

/** Runs `fn` after `ms` on whatever `setTimeout` is installed now (mocked timers included). */
function later(ms: number, fn: () => void): void {
  setTimeout(fn, ms);
}

function checked(text: string, family: 'IPv4' | 'IPv6', lan: TestLan, option: string): string {
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

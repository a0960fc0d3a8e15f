/** A simulated host: its links, its sockets, what beckon injects, and its faults. */
import type { Socket } from 'node:dgram';
import { InvalidOptionError } from '../errors.js';
import type { HostChannelTransport } from '../host/transport.js';
import type { InterfaceProvider, NetworkInterface } from '../network/interfaces.js';
import type { IPv6InterfaceAddress, IPv6InterfaceProvider } from '../network/interfaces6.js';
import { formatIPv6 } from '../network/ipv6.js';
import type { SocketFactory } from '../network/socket.js';
import {
  type Address,
  isLinkLocal6,
  isLoopbackAddress,
  isMulticast,
  isWildcard,
  parseAddress,
} from './addresses.js';
import { TestHostChannel } from './channel.js';
import { systemError } from './errors.js';
import { ipv4Entries, ipv6Entries, type LinkView } from './interfaces.js';
import { checked, Link, TestLan } from './lan.js';
import type { TestNetwork } from './network.js';
import { type SocketHost, TestSocket, type TestSocketOptions } from './socket.js';

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

/** Options of `network.host()`. */
export interface HostOptions {
  readonly name: string;
  readonly interfaces: readonly InterfaceOptions[];
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
  /**
   * The host's host-local channel, in memory: beckon's `hostChannel`, over which the responders
   * of this host share the discovery port (docs/many-services.md), as over the Unix socket of a
   * real host.
   */
  readonly hostChannel: HostChannelTransport;
  /** @internal */
  readonly links: Link[] = [];
  /** @internal Open sockets, in bind order. */
  readonly sockets: TestSocket[] = [];
  #vanished = false;
  #nextPort = EPHEMERAL_LOW;
  readonly #channel = new TestHostChannel();
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
    this.hostChannel = this.#channel;
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

  /**
   * Powers the host off: it sends and receives nothing from now on, and says no goodbye. Its
   * host channel stays as it is: it never left the host, and the processes on it, deaf and mute
   * now, see no change there (as on a real host, where they simply stop).
   */
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

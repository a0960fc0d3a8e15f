/**
 * The simulated network: LANs (broadcast domains), hosts with links on them, routers between
 * LANs, and the faults a test injects. Datagrams are delivered with `setTimeout(fn, latency)`,
 * so mocked timers (node:test `mock.timers`, Vitest fake timers) drive delivery.
 */
import { InvalidOptionError } from '../errors.js';
import type { HostChannelTransport } from '../host/transport.js';
import type { InterfaceProvider } from '../network/interfaces.js';
import type { IPv6InterfaceProvider } from '../network/interfaces6.js';
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
import { type HostOptions, TestHost } from './host.js';
import { type LanOptions, type Link, TestLan } from './lan.js';
import { seededRandom } from './prng.js';
import type { TestSocket } from './socket.js';

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

/** What beckon's `createResponder` / `attachDiscovery` take to run on a simulated host. */
export interface SimulatedResponderOptions {
  readonly socketFactory: SocketFactory;
  readonly interfaceProvider: InterfaceProvider;
  readonly interfaceProvider6: IPv6InterfaceProvider;
  /**
   * The host's in-memory host channel: the responders of one simulated host share the
   * discovery port over it (`role` `'registered'`), as on a real host.
   */
  readonly hostChannel: HostChannelTransport;
  /** Off: a worker thread cannot use the injected functions. */
  readonly worker: false;
  /** Empty: the machine's `DISCOVERY_*` variables do not change a simulated run. */
  readonly env: Readonly<Record<string, string>>;
}

/** What beckon's `discover`, `discoverOne` and `watch` take to run on a simulated host. */
export interface SimulatedClientOptions {
  readonly socketFactory: SocketFactory;
  readonly interfaceProvider: InterfaceProvider;
  readonly interfaceProvider6: IPv6InterfaceProvider;
  /** Empty: the machine's `DISCOVERY_*` variables do not change a simulated run. */
  readonly env: Readonly<Record<string, string>>;
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
    const lans = options?.lans;
    if (!Array.isArray(lans) || lans.length < 2 || !lans.every((lan) => lan instanceof TestLan)) {
      throw new InvalidOptionError('lans', lans, 'two or more LANs made by network.lan()');
    }
    this.#routers.push({
      name: options.name ?? `router${this.#routers.length + 1}`,
      lans: options.lans,
    });
  }

  /** Loses `fraction` (0 to 1) of the datagrams crossing `lan`, decided by the seeded generator. */
  loss(lan: TestLan, fraction: number): void {
    checkLan(lan);
    if (!(fraction >= 0 && fraction <= 1)) {
      throw new InvalidOptionError('fraction', fraction, 'a number from 0 to 1');
    }
    lan.lossRate = fraction;
  }

  /** Every datagram crossing `lan` takes `ms` milliseconds (a timer: mocked timers advance it). */
  latency(lan: TestLan, ms: number): void {
    checkLan(lan);
    if (!(Number.isFinite(ms) && ms >= 0)) throw new InvalidOptionError('ms', ms, 'a number >= 0');
    lan.latencyMs = ms;
  }

  /** The options that make `createResponder` / `attachDiscovery` run on `host`. */
  responderOptions(host: TestHost): SimulatedResponderOptions {
    return {
      socketFactory: host.socketFactory,
      interfaceProvider: host.interfaceProvider,
      interfaceProvider6: host.interfaceProvider6,
      hostChannel: host.hostChannel,
      worker: false,
      env: {},
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
      env: {},
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
    if (route.scope !== 'unicast' && route.lan === route.out.lan) {
      // The sender's host hears its own broadcast or multicast through loopback, as Linux loops
      // a copy back: at once, never lost nor delayed by the LAN's faults.
      later(0, () => {
        if (route.out.up && !host.vanished) {
          host.receive(route.out, to, port, data, from, route.scope, socket);
        }
      });
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
      if (link === route.out && route.scope !== 'unicast') continue; // looped back in send()
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

/** Throws InvalidOptionError unless `lan` is a LAN made by `network.lan()`. */
function checkLan(lan: unknown): void {
  if (!(lan instanceof TestLan))
    throw new InvalidOptionError('lan', lan, 'a LAN made by network.lan()');
}

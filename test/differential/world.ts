/**
 * The differential suite (issue 19): one scenario's code runs on two networks, the
 * network-namespace lab (real sockets, real processes) and `beckon/testing` (in memory, mocked
 * time), and asserts the same outcomes on both. A scenario sees only this interface;
 * lab-world.ts and kit-world.ts implement it.
 */
import type { TestContext } from 'node:test';
import type { Server } from '../../src/index.js';
import type { Repeated } from '../helpers/repeat.js';

/**
 * A LAN: one broadcast domain with an IPv4 subnet (`10.1.0.0/24`) and, if given, an IPv6 one
 * (`fd19:1::/64`). Every interface on it also has an IPv6 link-local address.
 */
export interface LanSpec {
  readonly ipv4: string;
  readonly ipv6?: string;
}

/** One interface of a host: the LAN it is on and its addresses there (no prefix). */
export interface InterfaceSpec {
  readonly lan: string;
  readonly ipv4: string;
  /** Its IPv6 address, inside the LAN's IPv6 subnet. */
  readonly ipv6?: string;
}

/** A host or router: its interfaces by name (`eth0`...). */
export interface HostSpec {
  readonly interfaces: Readonly<Record<string, InterfaceSpec>>;
}

/**
 * A topology. A router forwards unicast between its LANs; a host on a LAN with a router routes
 * everything off-link through it (the router's address there is its gateway).
 */
export interface WorldSpec {
  readonly lans: Readonly<Record<string, LanSpec>>;
  readonly hosts: Readonly<Record<string, HostSpec>>;
  readonly routers?: Readonly<Record<string, HostSpec>>;
}

/** What a watcher reported; `at` on the world's clock ({@link World.now}). */
export interface WatchEvent {
  readonly event: 'up' | 'update' | 'down';
  readonly reason?: string;
  readonly at: number;
  readonly server: Server;
}

/** A running `watch()`. */
export interface WorldWatch {
  /** Every event so far, in order. */
  readonly events: readonly WatchEvent[];
  /**
   * The first event after index `from` of {@link events} that passes `test`; rejects when none
   * comes within `timeoutMs` of the world's time.
   */
  next(test: (event: WatchEvent) => boolean, timeoutMs: number, from?: number): Promise<WatchEvent>;
  close(): Promise<void>;
}

/** A running responder. */
export interface WorldService {
  /** Stops it gracefully (its goodbye is sent). */
  stop(): Promise<void>;
}

/** A host of the world: what runs on it and what can happen to it. */
export interface WorldHost {
  /** Starts a responder (`createResponder(options)`; `env: {}`, `rateLimit: 0` unless given). */
  serve(options: Record<string, unknown>): Promise<WorldService>;
  /** `discover(options)` (`env: {}`), what it resolves with. */
  discover(options?: Record<string, unknown>): Promise<Server[]>;
  /** `discoverOne(options)` `count` times, `parallel` at once. */
  discoverRepeatedly(
    options: Record<string, unknown>,
    count: number,
    parallel: number,
  ): Promise<Repeated>;
  /** Starts `watch(options)` (`env: {}`). */
  watch(options?: Record<string, unknown>): Promise<WorldWatch>;
  /** Replaces the IPv4 address of interface `ifname` (`address`, inside its LAN's subnet). */
  setAddress(ifname: string, address: string): void;
  /** Takes interface `ifname` down (`false`) or up again (`true`). */
  setLink(ifname: string, up: boolean): void;
  /** The IPv6 link-local address of interface `ifname`, once usable. */
  linkLocal(ifname: string): Promise<string>;
  /** Powers the host off: its processes die at once, with no goodbye, and its links go dark. */
  vanish(): void;
}

/** One network a scenario runs on. */
export interface World {
  readonly mode: 'lab' | 'kit';
  host(name: string): WorldHost;
  /** Every datagram crossing `lan` is lost with probability `fraction`, per receiving host. */
  loss(lan: string, fraction: number): void;
  /** Lets `ms` of the world's time pass. */
  sleep(ms: number): Promise<void>;
  /** The world's clock, in epoch milliseconds. */
  now(): number;
}

/** Builds `spec` for test `t`, torn down when it ends; undefined when skipped (no lab here). */
export type StartWorld = (t: TestContext, spec: WorldSpec) => Promise<World | undefined>;

/** A scenario: its topology and its test code, the same in both worlds. */
export interface Scenario {
  readonly name: string;
  readonly spec: WorldSpec;
  run(world: World, t: TestContext): Promise<void>;
}

/** The servers as sorted `ip:port@interface via` strings, for compact assertions. */
export function summary(servers: readonly Server[]): string[] {
  return servers.map((s) => `${s.ip}:${s.port}@${s.interface ?? '-'} ${s.via}`).sort();
}

/** `up` of the server on HTTP port `port`. */
export const upOf = (port: number) => (e: WatchEvent) => e.event === 'up' && e.server.port === port;

/** `down` of the server on HTTP port `port`. */
export const downOf = (port: number) => (e: WatchEvent) =>
  e.event === 'down' && e.server.port === port;

/** The gateway of each host that shares a LAN with a router: the router's address there. */
export function gateways(spec: WorldSpec): Map<string, string> {
  const routerOn = new Map<string, string>();
  for (const router of Object.values(spec.routers ?? {})) {
    for (const iface of Object.values(router.interfaces)) routerOn.set(iface.lan, iface.ipv4);
  }
  const result = new Map<string, string>();
  for (const [name, host] of Object.entries(spec.hosts)) {
    const gateway = Object.values(host.interfaces)
      .map((iface) => routerOn.get(iface.lan))
      .find((address) => address !== undefined);
    if (gateway) result.set(name, gateway);
  }
  return result;
}

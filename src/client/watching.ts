/**
 * The watching part of a discovery run (docs/presence.md): the announcement sockets, the
 * presence schedule (refresh queries, polls, expiries), goodbyes and their checks, and interface
 * changes. The engine (src/client/engine.ts) owns the channels and the table and hands this
 * class a narrow {@link WatchHost}.
 */
import type { RemoteInfo, Socket } from 'node:dgram';
import { interfaceFor, type NetworkInterface } from '../network/interfaces.js';
import type { IPv6InterfaceAddress } from '../network/interfaces6.js';
import { isLoopback, parseIPv4 } from '../network/ipv4.js';
import { formatIPv6, parseIPv6 } from '../network/ipv6.js';
import { ipv6Links, selectIPv6Links } from '../network/select6.js';
import { closeSocket } from '../network/socket.js';
import { knownId } from '../protocol/extended.js';
import { openAnnounceListeners } from './announce-listener.js';
import { type Channel, usesIPv4, usesIPv6 } from './channels.js';
import type { EngineDependencies, WatchSettings } from './engine.js';
import type { DiscoverSettings } from './options.js';
import { PresenceTable } from './presence.js';
import type {
  BelievedAnnouncement,
  BelievedReply,
  ClientProtocol,
  PresenceQuery,
} from './protocol.js';
import type { DownReason, Server } from './server.js';
import type { ServerTable } from './table.js';
import type { ReplyOutcome } from './trace.js';

/** A goodbye without a signature waits for a check: tries 150 ms apart before `down`. */
const GOODBYE_CHECKS = 2;
const GOODBYE_CHECK_MS = 150;

type Traced = (outcome: ReplyOutcome, claims?: string) => void;

/** What watching needs from its run. */
export interface WatchHost {
  readonly settings: DiscoverSettings;
  readonly protocol: ClientProtocol;
  readonly deps: EngineDependencies;
  running(): boolean;
  table(): ServerTable;
  interfaces(): { ipv4: readonly NetworkInterface[]; ipv6: readonly IPv6InterfaceAddress[] };
  channels(): readonly Channel[];
  /** Takes these interfaces and opens channels for them, closing the old ones; false if ended. */
  reopen(
    ipv4: readonly NetworkInterface[],
    ipv6: readonly IPv6InterfaceAddress[],
  ): Promise<boolean>;
  /** Sends a refresh round on every channel. */
  send(presence: PresenceQuery): void;
  /** Files a believed announcement as a reply is filed. */
  believe(reply: BelievedReply, remote: RemoteInfo, traced: Traced): void;
  tracer(label: string, message: Buffer, remote: RemoteInfo): Traced;
  /** Removes server `id` and reports it `down`. */
  down(id: number, reason: DownReason): void;
  later(ms: number, fn: () => void): void;
  guarded(doing: string, fn: () => void): void;
  log(level: 'debug' | 'warn', text: string): void;
}

/**
 * Keeps a run's table true while it watches; a run that asks once only listens, so that a server
 * that starts during it is found by its announcement. Named states: `idle`, `listening` (asking
 * once: the announcement sockets only), `watching` (sockets and timers live), `stopped`.
 */
export class Watching {
  #state: 'idle' | 'listening' | 'watching' | 'stopped' = 'idle';
  readonly #host: WatchHost;
  readonly #watch: WatchSettings;
  readonly #keep: boolean;
  readonly #presence: PresenceTable;
  #listeners: Socket[] = [];
  #presenceTimer: NodeJS.Timeout | undefined;
  #interfaceTimer: NodeJS.Timeout | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
  /** Unsigned goodbyes being checked, by server id: checks left. */
  readonly #goodbyes = new Map<number, number>();

  /** `keep`: watch (presence schedule, goodbyes, interfaces); else only listen. */
  constructor(host: WatchHost, watch: WatchSettings, keep = true) {
    this.#host = host;
    this.#watch = watch;
    this.#keep = keep;
    this.#presence = new PresenceTable(watch.timing);
  }

  /** Opens the announcement sockets, and starts the presence schedule and interface polls. */
  async start(): Promise<void> {
    if (this.#state !== 'idle') return;
    this.#state = this.#keep ? 'watching' : 'listening';
    await this.#listen();
    if (this.#state !== 'watching') return;
    const { interfacePollInterval, timing } = this.#watch;
    if (interfacePollInterval > 0) {
      this.#interfaceTimer = setInterval(
        () =>
          void this.#checkInterfaces().catch((error: unknown) =>
            this.#host.guarded('reading interfaces', () => {
              throw error;
            }),
          ),
        interfacePollInterval,
      );
    }
    // Servers that announce nothing to this host (beyond a router) are asked now and then.
    this.#sweepTimer = setInterval(
      () => this.#host.guarded('sending', () => this.#sendPresence(performance.now())),
      timing.pollInterval * 6,
    );
    this.#tick();
  }

  /** Closes the announcement sockets and clears every timer. */
  stop(): void {
    this.#state = 'stopped';
    clearTimeout(this.#presenceTimer);
    clearInterval(this.#interfaceTimer);
    clearInterval(this.#sweepTimer);
    for (const socket of this.#listeners) void closeSocket(socket);
    this.#listeners = [];
  }

  /**
   * Server `id` was heard (an answer or an announcement) declaring `lease`. `named`: the datagram
   * says who sent it (extended); a plain reply carries no lease whatever the server, so it keeps
   * the lease the server declared before.
   */
  heard(id: number, lease: number | undefined, named: boolean): void {
    if (!this.#keep) return;
    const key = String(id);
    const fresh = !this.#presence.has(key);
    const declared = lease ?? (named ? undefined : this.#presence.lease(key));
    this.#presence.heard(key, declared, performance.now());
    this.#goodbyes.delete(id); // it answered the check: no goodbye
    if (fresh) this.#tick();
  }

  /** Whether the LAN holds server `id`: heard within its lease, or polled and answering. */
  holds(id: number): boolean {
    return this.#presence.has(String(id));
  }

  /** Server `id` is no longer watched. */
  forget(id: number): void {
    this.#presence.forget(String(id));
    this.#goodbyes.delete(id);
  }

  /** When server `id` was first and last heard. */
  seen(id: number): { since: number; last: number } | undefined {
    return this.#presence.seen(String(id));
  }

  async #listen(): Promise<void> {
    const { settings, deps } = this.#host;
    if (!settings.broadcast || !settings.identify) return;
    const { ipv4, ipv6 } = this.#host.interfaces();
    // A one-shot run hears IPv4 broadcasts only: joining the IPv6 group for a second or two
    // would cost every run two MLD reports, and make every discover a member of it.
    const links6 =
      this.#keep && usesIPv6(settings)
        ? selectIPv6Links(ipv6Links(ipv6), settings.includeLinks, settings.excludeLinks, ipv4)
            .selected.filter((link) => !link.loopback)
            .map((link) => link.name)
        : [];
    const opened = await openAnnounceListeners(
      {
        port: this.#watch.announcePort,
        ipv4: usesIPv4(settings),
        links6,
        receiveBufferSize: settings.receiveBufferSize,
      },
      {
        socketFactory: deps.socketFactory,
        logger: deps.logger,
        failure: this.#keep ? 'warn' : 'debug',
        onMessage: (message, remote) =>
          this.#host.guarded('handling an announcement', () =>
            this.#onAnnouncement(message, remote),
          ),
      },
    );
    if (this.#state !== 'watching' && this.#state !== 'listening') {
      for (const socket of opened) void closeSocket(socket);
      return;
    }
    this.#listeners = opened;
  }

  /** Acts on what is due (expiries, a refresh query, polls) and sets the timer for the next. */
  #tick(): void {
    clearTimeout(this.#presenceTimer);
    if (this.#state !== 'watching' || !this.#host.running()) return;
    this.#host.guarded('keeping presence', () => {
      const now = performance.now();
      let due = this.#presence.due(now);
      for (const key of due.expired) this.#host.down(Number(key), 'expired');
      if (due.refresh || due.poll) {
        if (due.refresh) {
          this.#presence.refreshed(now);
          this.#sendPresence(now);
        }
        if (due.poll) {
          this.#presence.polled(now);
          this.#poll();
        }
        due = this.#presence.due(now);
        for (const key of due.expired) this.#host.down(Number(key), 'expired');
      }
      if (due.next !== undefined) {
        this.#presenceTimer = setTimeout(() => this.#tick(), Math.max(due.next - now, 5));
      }
    });
  }

  /** A refresh query on every channel: the servers known well stay silent. */
  #sendPresence(now: number): void {
    const known: Buffer[] = [];
    const table = this.#host.table();
    for (const key of this.#presence.known(now)) {
      const instanceId = table.get(Number(key))?.metadata?.instanceId;
      if (instanceId !== undefined) known.push(knownId(instanceId));
    }
    // Without an announcement socket, servers are asked for unicast answers instead.
    const port = this.#listeners.length > 0 ? this.#watch.announcePort : undefined;
    this.#host.send({ known, ...(port === undefined ? {} : { port }) });
  }

  /**
   * Asks each server without a lease directly: an original server with the run's request, a
   * beckon server that does not announce with the extended one (which names it).
   */
  #poll(): void {
    const now = this.#host.deps.clock.now();
    for (const { id, server } of this.#host.table().entries()) {
      const key = String(id);
      if (!this.#presence.has(key) || this.#presence.lease(key) !== undefined) continue;
      const named = server.metadata?.instanceId !== undefined;
      this.#sendTo(server, this.#host.protocol.request(now, named));
    }
  }

  /** Sends `request` to `server` directly, from the channel it was heard on if there is one. */
  #sendTo(server: Server, request: Buffer): void {
    const usable = this.#host.channels().filter((c) => !c.failed && c.family === server.family);
    const channel = usable.find((c) => c.label === server.interface) ?? usable[0];
    channel?.socket.send(request, this.#host.settings.port, server.ip, (error) => {
      if (error) this.#host.log('debug', `Asking ${server.ip} failed: ${error.message}`);
    });
  }

  #onAnnouncement(message: Buffer, remote: RemoteInfo) {
    const traced = this.#host.tracer('announcements', message, remote);
    if (this.#state === 'stopped' || !this.#host.running()) return traced('too-late');
    const now = this.#host.deps.clock.now();
    const announcement = this.#host.protocol.parseAnnouncement(message, now);
    if ('drop' in announcement) return traced(announcement.drop);
    if (!this.#onSelectedInterface(remote.address)) return;
    if (announcement.lease === 0) {
      if (this.#keep) this.#goodbye(announcement, remote);
      return; // asking once: a goodbye during the run changes nothing already reported
    }
    this.#host.believe(announcement, remote, traced);
  }

  /**
   * Whether an IPv4 announcement came over an interface the run asks on: its source is in the
   * subnet of one (or is loopback, when loopback is asked on). The socket hears every
   * interface's broadcasts; a run kept to some must not report servers of the others.
   */
  #onSelectedInterface(source: string): boolean {
    const ip = parseIPv4(source);
    if (ip === undefined) return true; // IPv6: the group is joined on selected links only
    const channels = this.#host.channels();
    if (isLoopback(ip)) return channels.some((c) => c.iface?.loopback === true);
    const iface = interfaceFor(ip, this.#host.interfaces().ipv4);
    return iface !== undefined && channels.some((c) => c.iface?.name === iface.name);
  }

  /**
   * A goodbye. Signed with the key: `down` at once. Unsigned: only from the server's own
   * address, and only once a check (two direct requests, 150 ms apart) goes unanswered.
   */
  #goodbye(announcement: BelievedAnnouncement, remote: RemoteInfo): void {
    const table = this.#host.table();
    const instanceId = announcement.metadata?.instanceId;
    const id = instanceId === undefined ? undefined : table.idOf(instanceId);
    const server = id === undefined ? undefined : table.get(id);
    if (id === undefined || !server) return;
    if (announcement.signed) {
      this.#host.down(id, 'goodbye');
      return;
    }
    const source = bareAddress(remote.address);
    if (!server.addresses.some((a) => bareAddress(a.address) === source)) return;
    if (this.#goodbyes.has(id)) return;
    this.#goodbyes.set(id, GOODBYE_CHECKS);
    this.#checkGoodbye(id);
  }

  #checkGoodbye(id: number): void {
    const left = this.#goodbyes.get(id);
    if (left === undefined || this.#state !== 'watching') return; // heard meanwhile
    const server = this.#host.table().get(id);
    if (!server || left === 0) {
      this.#host.down(id, 'goodbye');
      return;
    }
    this.#goodbyes.set(id, left - 1);
    this.#sendTo(server, this.#host.protocol.request(this.#host.deps.clock.now(), true));
    this.#host.later(GOODBYE_CHECK_MS, () =>
      this.#host.guarded('checking a goodbye', () => this.#checkGoodbye(id)),
    );
  }

  /**
   * Reads the interface list; when it changed, servers seen only through interfaces that went
   * away are `down` (`interface-lost`), and the channels and announcement sockets are opened
   * anew, with a refresh query on them at once (new interfaces are asked at once).
   */
  async #checkInterfaces(): Promise<void> {
    if (this.#state !== 'watching' || !this.#host.running()) return;
    const { deps, settings } = this.#host;
    const before = this.#host.interfaces();
    const ipv4 = deps.interfaceProvider();
    const ipv6 = before.ipv6.length > 0 || usesIPv6(settings) ? deps.interfaceProvider6() : [];
    if (signature(ipv4) === signature(before.ipv4) && signature(ipv6) === signature(before.ipv6)) {
      return;
    }
    const names = new Set([...ipv4, ...ipv6].map((i) => i.name));
    for (const { id, server } of this.#host.table().entries()) {
      const seen = server.addresses.map((a) => a.interface);
      if (seen.length > 0 && seen.every((name) => name !== undefined && !names.has(name))) {
        this.#host.down(id, 'interface-lost');
      }
    }
    if (!(await this.#host.reopen(ipv4, ipv6)) || this.#state !== 'watching') return;
    const listeners = this.#listeners;
    this.#listeners = [];
    for (const socket of listeners) void closeSocket(socket);
    await this.#listen();
    this.#sendPresence(performance.now());
  }
}

/** The interface list as one comparable string. */
function signature(list: readonly { name: string; address: string }[]): string {
  return list
    .map((i) => `${i.name} ${i.address}`)
    .sort()
    .join(',');
}

/** An address without its zone, canonical (IPv6 per RFC 5952). */
export function bareAddress(address: string): string {
  const parsed = parseIPv6(address);
  return parsed ? formatIPv6({ value: parsed.value, zone: undefined }) : address;
}

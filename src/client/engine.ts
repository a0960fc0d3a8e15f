/**
 * The client engine: one discovery run. It owns the sockets (channels), the send schedule, the
 * table of servers found, and the deadline; `discover()`, `discoverOne()` and
 * `discoverStream()` are views of it (src/client/discover.ts). Watching (`watch()`,
 * src/client/watch.ts) is the same run kept going: no deadline, and the table kept true with
 * announcements, refresh queries and polls (docs/presence.md).
 *
 * States: `opening` (resolving targets, binding sockets), `running` (sending rounds, taking
 * replies), `ended` (sockets closed, timers cleared; `end` traced once with the reason).
 */
import type { RemoteInfo, Socket } from 'node:dgram';
import type { Clock } from '../clock.js';
import { type Logger, logSafely } from '../logger.js';
import {
  type InterfaceProvider,
  interfaceFor,
  type NetworkInterface,
} from '../network/interfaces.js';
import type { IPv6InterfaceAddress, IPv6InterfaceProvider } from '../network/interfaces6.js';
import { parseIPv4 } from '../network/ipv4.js';
import { classifyIPv6, formatIPv6, ipv6CidrContains, parseIPv6 } from '../network/ipv6.js';
import { IPV4_GROUP } from '../network/multicast.js';
import { routeSourceAddress } from '../network/route.js';
import { ipv6Links, selectIPv6Links } from '../network/select6.js';
import { closeSocket, type SocketFactory } from '../network/socket.js';
import { knownId } from '../protocol/extended.js';
import { describeStaleToken, skewNoticesFor } from '../security/clock-skew.js';
import { normalizeServerAddress } from './addresses.js';
import { openAnnounceListeners } from './announce-listener.js';
import {
  type Channel,
  type ChannelContext,
  nothingToSend,
  openChannels,
  usesIPv4,
  usesIPv6,
} from './channels.js';
import type { DiscoverSettings } from './options.js';
import { PresenceTable, type PresenceTiming } from './presence.js';
import type {
  BelievedAnnouncement,
  BelievedReply,
  ClientProtocol,
  PresenceQuery,
} from './protocol.js';
import { retrySchedule } from './schedule.js';
import type { DownReason, Server, WatchEvent } from './server.js';
import { ServerTable, type Sighting } from './table.js';
import type { EndReason, ReplyOutcome, TraceFields } from './trace.js';

const MAX_FOREIGN_WARNINGS = 3;
/** Route lookups (for a reply's interface) in flight at most; past it, a reply goes without. */
const MAX_LOOKUPS = 32;
/** Sources whose route lookup a run remembers. */
const MAX_CACHED_ROUTES = 256;
/** A route lookup is given up after this long. */
const LOOKUP_TIMEOUT_MS = 1000;

/** How a watching run keeps its table true (docs/presence.md). */
export interface WatchSettings {
  /** The port announcements arrive on. */
  readonly announcePort: number;
  readonly timing: PresenceTiming;
  /** Milliseconds between reads of the interface list; 0: never. */
  readonly interfacePollInterval: number;
}

/** A goodbye without a signature waits for a check: tries 150 ms apart before `down`. */
const GOODBYE_CHECKS = 2;
const GOODBYE_CHECK_MS = 150;

/** What the engine takes from outside: all injectable. */
export interface EngineDependencies {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly socketFactory: SocketFactory;
  readonly interfaceProvider: InterfaceProvider;
  readonly interfaceProvider6: IPv6InterfaceProvider;
  readonly signal: AbortSignal | undefined;
  readonly trace: (fields: TraceFields) => void;
  /** The caller explains a run with no usable interface itself: the warning is debug then. */
  readonly explainsNoInterface: boolean;
  /** Set: the run watches (no deadline) instead of asking once. */
  readonly watch?: WatchSettings | undefined;
}

/** The engine's lifecycle. */
type EngineState = 'opening' | 'running' | 'ended';

/** One discovery run: start it with {@link DiscoveryEngine.results}. */
export class DiscoveryEngine {
  readonly #settings: DiscoverSettings;
  readonly #protocol: ClientProtocol;
  readonly #deps: EngineDependencies;
  /** Listed when the run starts (a provider that throws rejects the run, not the call). */
  #interfaces: readonly NetworkInterface[] = [];
  #interfaces6: readonly IPv6InterfaceAddress[] = [];
  #state: EngineState = 'opening';
  #channels: Channel[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Every logical server heard. */
  #table: ServerTable;
  /** Events not yet taken by the consumer: only `up` when asking once. */
  readonly #queue: WatchEvent[] = [];
  /** Watching: leases, refreshes and polls per server id. */
  readonly #presence: PresenceTable;
  /** Watching: the sockets on the announcement port. */
  #listeners: Socket[] = [];
  #presenceTimer: NodeJS.Timeout | undefined;
  #interfaceTimer: NodeJS.Timeout | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
  /** Watching: unsigned goodbyes being checked, by server id: checks left. */
  readonly #goodbyes = new Map<number, number>();
  /** Replies waiting for a route lookup to learn their interface before being filed. */
  readonly #lookups = new Set<Promise<void>>();
  /** Route lookups by source address, so that retries and floods ask once. */
  readonly #routes = new Map<string, Promise<string | undefined>>();
  #foreignWarnings = 0;
  #round = 0;
  #failure: { error: unknown } | undefined;
  #wake = () => {};
  #markEnded = () => {};
  readonly #ended = new Promise<undefined>((resolve) => {
    this.#markEnded = () => resolve(undefined);
  });
  readonly #onAbort = () => this.#end('aborted');

  constructor(settings: DiscoverSettings, protocol: ClientProtocol, deps: EngineDependencies) {
    this.#settings = settings;
    this.#protocol = protocol;
    this.#deps = deps;
    this.#table = new ServerTable({ ipv4: [], ipv6: [] }, settings);
    this.#presence = new PresenceTable(deps.watch?.timing);
  }

  /** Every server heard so far, each once with all its addresses, in the order first heard. */
  servers(): Server[] {
    return this.#table.servers();
  }

  /**
   * Watching: every server there, with when it was first and last heard (`performance.now()`
   * milliseconds).
   */
  watched(): { server: Server; since: number; lastSeen: number }[] {
    return this.#table.entries().map(({ id, server }) => {
      const seen = this.#presence.seen(String(id));
      return { server, since: seen?.since ?? 0, lastSeen: seen?.last ?? 0 };
    });
  }

  /**
   * Runs discovery and yields each server as its first reply arrives, until the deadline,
   * `maxResults` or an abort. Returning early (or throwing into it) ends the run at once.
   */
  async *results(): AsyncGenerator<Server, void> {
    for await (const event of this.events()) if (event.type === 'up') yield event.server;
  }

  /**
   * Runs and yields every event: asking once, an `up` per server until the deadline; watching,
   * `up`, `update` and `down` until an abort or until the consumer returns.
   */
  async *events(): AsyncGenerator<WatchEvent, void> {
    const { signal, watch } = this.#deps;
    signal?.throwIfAborted();
    this.#interfaces = this.#deps.interfaceProvider();
    this.#interfaces6 = needsIPv6List(this.#settings) ? this.#deps.interfaceProvider6() : [];
    const local = { ipv4: this.#interfaces, ipv6: this.#interfaces6 };
    this.#table = new ServerTable(local, this.#settings);
    if (!watch) this.#later(this.#settings.timeout, () => this.#end('deadline'));
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    try {
      await this.#open();
    } catch (error) {
      this.#failure = { error };
    }
    try {
      while (true) {
        signal?.throwIfAborted();
        const next = this.#queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (this.#failure) throw this.#failure.error;
        if (this.#state === 'ended') {
          if (this.#lookups.size === 0) return;
          await Promise.all(this.#lookups);
          continue;
        }
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
      }
    } finally {
      this.#end('returned');
      signal?.removeEventListener('abort', this.#onAbort);
    }
  }

  /** Opens the channels and starts the send schedule. Host-name lookups cannot be cancelled:
   * the run stops waiting for them at the deadline or on abort and closes what opens late. */
  async #open(): Promise<void> {
    const opening = openChannels(this.#channelContext());
    const opened = await Promise.race([opening, this.#ended]);
    if (opened === undefined) {
      opening.then(
        (late) => late.forEach((channel) => void closeSocket(channel.socket)),
        () => {},
      );
      return;
    }
    if (this.#state === 'ended') {
      for (const channel of opened) void closeSocket(channel.socket);
      return;
    }
    this.#channels = opened;
    this.#state = 'running';
    if (opened.length === 0) {
      const why = nothingToSend(this.#settings, this.#interfaces, this.#interfaces6);
      const quiet = why.noInterface && this.#deps.explainsNoInterface;
      this.#deps.logger[quiet ? 'debug' : 'warn'](`Nothing to send to: ${why.text}`);
      this.#end('nothing-to-send');
      return;
    }
    // The first round goes out now: even setTimeout(0) would cost a millisecond.
    for (const at of retrySchedule(this.#settings.retries, this.#settings.timeout)) {
      if (at === 0) this.#sendRound();
      else this.#later(at, () => this.#sendRound());
    }
    if (this.#deps.watch) await this.#startWatching(this.#deps.watch);
  }

  #channelContext(): ChannelContext {
    return {
      settings: this.#settings,
      interfaces: this.#interfaces,
      interfaces6: this.#interfaces6,
      logger: this.#deps.logger,
      socketFactory: this.#deps.socketFactory,
      trace: this.#deps.trace,
      onReply: (channel, message, remote) => this.#onReply(channel, message, remote),
    };
  }

  /** Ends the run: closes every socket and clears every timer, once. Closing happens as soon
   * as discovery ends, not only when the consumer returns: an abandoned iterator must not keep
   * sockets open. */
  #end(reason: EndReason): void {
    if (this.#state === 'ended') return;
    this.#deps.trace({ type: 'end', reason, found: this.#table.size });
    this.#state = 'ended';
    for (const timer of this.#timers) clearTimeout(timer);
    clearTimeout(this.#presenceTimer);
    clearInterval(this.#interfaceTimer);
    clearInterval(this.#sweepTimer);
    for (const channel of this.#channels) void closeSocket(channel.socket);
    for (const socket of this.#listeners) void closeSocket(socket);
    this.#markEnded();
    this.#wake();
  }

  /** One request per channel, to each of its destinations. Timer-driven: never throws. */
  #sendRound(): void {
    try {
      this.#send(++this.#round);
    } catch (error) {
      this.#unexpected('sending', error);
    }
  }

  /**
   * Sends one round. `presence`: a watcher's refresh query instead, to every destination of
   * every channel, as the extended request (`identify`) where the run may send it.
   */
  #send(round: number, presence?: PresenceQuery): void {
    const { port } = this.#settings;
    const now = this.#deps.clock.now();
    for (const channel of this.#channels) {
      if (channel.failed) continue;
      channel.lastSend = performance.now();
      // One request per kind per channel and round (a fresh nonce or token each).
      const requests = new Map<boolean, Buffer>();
      const sent = new Set<string>();
      for (const destination of channel.destinations) {
        const identify = presence ? this.#settings.identify : destination.identify;
        const { to } = destination;
        if (sent.has(`${to} ${identify}`)) continue;
        sent.add(`${to} ${identify}`);
        let request = requests.get(identify);
        if (!request) {
          request = this.#protocol.request(now, identify, identify ? presence : undefined);
          requests.set(identify, request);
        }
        const bytes = request.length;
        // A group a link cannot carry fails every round: worth a trace, not a warning each.
        const group = channel.link !== undefined || to === IPV4_GROUP;
        channel.socket.send(request, port, to, (error) => {
          if (error) {
            const text = `Sending on ${channel.label} to ${to} failed: ${error.message}`;
            this.#log(group ? 'debug' : 'warn', text);
          }
          const { label, family, bind: from } = channel;
          const fields = { channel: label, family, from, to, port, bytes, round };
          this.#deps.trace({ type: 'send', ...fields, error: error?.message });
        });
      }
    }
  }

  #onReply(channel: Channel, message: Buffer, remote: RemoteInfo): void {
    try {
      this.#handleReply(channel, message, remote);
    } catch (error) {
      this.#unexpected('handling a reply', error);
    }
  }

  /** Socket events and timers call user code (the clock, the trace callback, the logger):
   * whatever it throws must not take the host process down. */
  #unexpected(doing: string, error: unknown): void {
    this.#log('warn', `Unexpected error ${doing}: ${String(error)}`);
  }

  #log(level: 'debug' | 'warn', text: string): void {
    logSafely(this.#deps.logger, level, text);
  }

  #handleReply(channel: Channel, message: Buffer, remote: RemoteInfo) {
    const traced = this.#tracer(channel.label, message, remote);
    if (this.#state === 'ended') return traced('too-late');
    const reply = this.#protocol.parse(message, this.#deps.clock.now());
    if ('drop' in reply) {
      this.#deps.logger.debug(
        `Ignored a reply from ${remote.address}:${remote.port}: ${reply.drop}`,
      );
      traced(reply.drop);
      if (reply.skewMs !== undefined) this.#reportStale(channel.label, remote, reply.skewMs);
      return;
    }
    this.#believe(reply, remote, channel, traced);
  }

  /** Reports what became of one datagram, on the trace. */
  #tracer(label: string, message: Buffer, remote: RemoteInfo) {
    return (outcome: ReplyOutcome, claims?: string) =>
      this.#deps.trace({
        type: 'reply',
        channel: label,
        from: remote.address,
        fromPort: remote.port,
        bytes: message.length,
        outcome,
        claims,
      });
  }

  /**
   * Files a believed reply or announcement (`channel` undefined: it came to the announcement
   * port), once its claimed address is checked against its source and its interface is known.
   */
  #believe(
    reply: BelievedReply,
    remote: RemoteInfo,
    channel: Channel | undefined,
    traced: (outcome: ReplyOutcome, claims?: string) => void,
  ) {
    const { logger } = this.#deps;
    const key =
      reply.family === 'IPv6' ? `[${reply.ip}]:${reply.port}` : `${reply.ip}:${reply.port}`;
    const source = bareAddress(remote.address);
    const foreign = reply.ip !== source && !this.#onSameLink(remote.address, reply.ip);
    if (foreign && !this.#settings.acceptForeignAddresses) {
      // A few warnings explain the problem; a flood of spoofed replies must not flood the log.
      const log = this.#foreignWarnings++ < MAX_FOREIGN_WARNINGS ? logger.warn : logger.debug;
      log.call(logger, `Dropped a reply from ${remote.address} claiming to be ${reply.ip}`);
      return traced('foreign', key);
    }
    const sentAt = reply.sentAt ?? channel?.lastSend;
    const rtt =
      sentAt === undefined ? undefined : Math.round((performance.now() - sentAt) * 100) / 100;
    const zone = remote.address.split('%')[1] ?? channel?.link?.name;
    const linkLocal = reply.family === 'IPv6' && isLinkLocal6(reply.ip);
    if (linkLocal && zone === undefined) return traced('malformed', key); // cannot be reached
    const claimed = normalizeServerAddress(linkLocal ? `${reply.ip}%${zone}` : reply.ip);
    // Kept as foreign or not, `::`, multicast or 0.0.0.0 cannot be a server's address.
    if (!claimed) return traced('malformed', key);
    const { address } = claimed;
    const sighting = (iface: string | undefined): Sighting => ({
      address: { address, family: claimed.family, interface: iface, rtt },
      port: reply.port,
      source: remote.address,
      sourcePort: remote.port,
      raw: reply.raw,
      foreign,
      metadata: reply.metadata,
    });
    const known = this.#interfaceOf(channel, remote.address, zone);
    if (known !== undefined || this.#lookups.size >= MAX_LOOKUPS) {
      this.#file(sighting(known), key, traced, reply.lease); // past the cap, without its interface
      return;
    }
    // A target beyond a router (or on loopback) is in no local subnet: ask the route instead.
    const lookup = this.#routeInterface(remote.address, source.includes(':'))
      .then((name) => this.#file(sighting(name), key, traced, reply.lease))
      .catch((error: unknown) => this.#unexpected('filing a reply', error))
      .finally(() => {
        this.#lookups.delete(lookup);
        this.#wake();
      });
    this.#lookups.add(lookup);
  }

  /**
   * Files a believed reply in the table; a new server goes to the consumer. Past `maxResults`
   * (a reply whose route lookup ended after the run did) it may only join a known server.
   */
  #file(
    sighting: Sighting,
    key: string,
    traced: (outcome: ReplyOutcome, claims?: string) => void,
    lease: number | undefined,
  ) {
    const watching = this.#deps.watch !== undefined;
    if (watching && this.#state === 'ended') return traced('too-late', key);
    const full = this.#table.size >= this.#settings.maxResults;
    const filed = this.#table.add(sighting, !full);
    if (filed.outcome === 'refused') return traced('too-late', key);
    if (watching) {
      const fresh = !this.#presence.has(String(filed.id));
      this.#presence.heard(String(filed.id), lease, performance.now());
      this.#goodbyes.delete(filed.id); // it answered the check: no goodbye
      if (fresh) this.#tick();
    }
    if (filed.outcome !== 'new') {
      traced(filed.outcome === 'new-address' ? 'merged' : 'duplicate', key);
      if (watching && filed.outcome !== 'duplicate') {
        this.#emit({ type: 'update', server: filed.server() });
      }
      return;
    }
    traced('accepted', key);
    this.#emit({ type: 'up', server: filed.server() });
    if (!watching && this.#table.size >= this.#settings.maxResults) this.#end('max-results');
  }

  #emit(event: WatchEvent): void {
    this.#queue.push(event);
    this.#wake();
  }

  /** Runs `fn` after `ms`, unless the run ends first. */
  #later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
  }

  // ---- Watching (docs/presence.md) ----

  /** Opens the announcement sockets, and starts the presence schedule and interface polls. */
  async #startWatching(watch: WatchSettings): Promise<void> {
    await this.#listen(watch);
    if (watch.interfacePollInterval > 0) {
      this.#interfaceTimer = setInterval(
        () => void this.#checkInterfaces().catch((e) => this.#unexpected('reading interfaces', e)),
        watch.interfacePollInterval,
      );
    }
    // Servers that announce nothing to this host (beyond a router) are asked now and then.
    this.#sweepTimer = setInterval(
      () => this.#guarded('sending', () => this.#sendPresence(performance.now())),
      watch.timing.pollInterval * 6,
    );
    this.#tick();
  }

  async #listen(watch: WatchSettings): Promise<void> {
    const settings = this.#settings;
    if (!settings.broadcast || !settings.identify) return;
    const links6 = usesIPv6(settings)
      ? selectIPv6Links(
          ipv6Links(this.#interfaces6),
          settings.includeLinks,
          settings.excludeLinks,
          this.#interfaces,
        )
          .selected.filter((link) => !link.loopback)
          .map((link) => link.name)
      : [];
    const opened = await openAnnounceListeners(
      { port: watch.announcePort, ipv4: usesIPv4(settings), links6 },
      {
        socketFactory: this.#deps.socketFactory,
        logger: this.#deps.logger,
        onMessage: (message, remote) =>
          this.#guarded('handling an announcement', () => this.#onAnnouncement(message, remote)),
      },
    );
    if (this.#state === 'ended') {
      for (const socket of opened) void closeSocket(socket);
      return;
    }
    this.#listeners = opened;
  }

  /** Socket events and timers call user code: nothing they throw may escape. */
  #guarded(doing: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.#unexpected(doing, error);
    }
  }

  /** Acts on what is due (expiries, a refresh query, polls) and sets the timer for the next. */
  #tick(): void {
    clearTimeout(this.#presenceTimer);
    if (this.#state !== 'running') return;
    this.#guarded('keeping presence', () => {
      const now = performance.now();
      let due = this.#presence.due(now);
      for (const key of due.expired) this.#down(Number(key), 'expired');
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
        for (const key of due.expired) this.#down(Number(key), 'expired');
      }
      if (due.next !== undefined) {
        this.#presenceTimer = setTimeout(() => this.#tick(), Math.max(due.next - now, 5));
      }
    });
  }

  /** A refresh query on every channel: the servers known well stay silent. */
  #sendPresence(now: number): void {
    const known: Buffer[] = [];
    for (const key of this.#presence.known(now)) {
      const instanceId = this.#table.get(Number(key))?.metadata?.instanceId;
      if (instanceId !== undefined) known.push(knownId(instanceId));
    }
    const port = this.#listeners.length > 0 ? this.#deps.watch?.announcePort : undefined;
    this.#send(++this.#round, { known, ...(port === undefined ? {} : { port }) });
  }

  /**
   * Asks each server without a lease directly: an original server as it was first asked, a
   * beckon server that announces nothing (`announce: false`) by a request its answer names it in.
   */
  #poll(): void {
    const now = this.#deps.clock.now();
    for (const { id, server } of this.#table.entries()) {
      if (!this.#presence.isPolled(String(id))) continue;
      this.#sendTo(server, this.#protocol.request(now, server.metadata?.instanceId !== undefined));
    }
  }

  /** Sends `request` to `server` directly, from the channel it was heard on if there is one. */
  #sendTo(server: Server, request: Buffer): void {
    const usable = this.#channels.filter((c) => !c.failed && c.family === server.family);
    const channel = usable.find((c) => c.label === server.interface) ?? usable[0];
    channel?.socket.send(request, this.#settings.port, server.ip, (error) => {
      if (error) this.#log('debug', `Asking ${server.ip} failed: ${error.message}`);
    });
  }

  #onAnnouncement(message: Buffer, remote: RemoteInfo) {
    const traced = this.#tracer('announcements', message, remote);
    if (this.#state !== 'running') return traced('too-late');
    const announcement = this.#protocol.parseAnnouncement(message, this.#deps.clock.now());
    if ('drop' in announcement) return traced(announcement.drop);
    if (!this.#onSelectedInterface(remote.address)) return;
    if (announcement.lease === 0) return this.#goodbye(announcement, remote);
    this.#believe(announcement, remote, undefined, traced);
  }

  /** An IPv4 announcement from a subnet of an interface the run does not use is not for it. */
  #onSelectedInterface(source: string): boolean {
    const ip = parseIPv4(source);
    if (ip === undefined) return true; // IPv6: the group is joined on selected links only
    const iface = interfaceFor(ip, this.#interfaces);
    if (!iface) return true;
    return this.#channels.some((c) => c.iface?.name === iface.name);
  }

  /**
   * A goodbye. Signed with the key: `down` at once. Unsigned: only from the server's own
   * address, and only once a check (two direct requests, 150 ms apart) goes unanswered.
   */
  #goodbye(announcement: BelievedAnnouncement, remote: RemoteInfo): void {
    const instanceId = announcement.metadata?.instanceId;
    const id = instanceId === undefined ? undefined : this.#table.idOf(instanceId);
    const server = id === undefined ? undefined : this.#table.get(id);
    if (id === undefined || !server) return;
    if (announcement.signed) {
      this.#down(id, 'goodbye');
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
    if (left === undefined || this.#state !== 'running') return; // heard meanwhile
    const server = this.#table.get(id);
    if (!server || left === 0) {
      this.#down(id, 'goodbye');
      return;
    }
    this.#goodbyes.set(id, left - 1);
    this.#sendTo(server, this.#protocol.request(this.#deps.clock.now(), true));
    this.#later(GOODBYE_CHECK_MS, () =>
      this.#guarded('checking a goodbye', () => this.#checkGoodbye(id)),
    );
  }

  /** Removes server `id` and reports it `down`. */
  #down(id: number, reason: DownReason): void {
    this.#presence.forget(String(id));
    this.#goodbyes.delete(id);
    const server = this.#table.remove(id);
    if (server) this.#emit({ type: 'down', server, reason });
  }

  /**
   * Reads the interface list; when it changed, servers seen only through interfaces that went
   * away are `down` (`interface-lost`), and the channels and announcement sockets are opened
   * anew, with a refresh query on them at once (new interfaces are asked at once).
   */
  async #checkInterfaces(): Promise<void> {
    if (this.#state !== 'running') return;
    const interfaces = this.#deps.interfaceProvider();
    const interfaces6 = needsIPv6List(this.#settings) ? this.#deps.interfaceProvider6() : [];
    const signature = (list: readonly { name: string; address: string }[]) =>
      list
        .map((i) => `${i.name} ${i.address}`)
        .sort()
        .join(',');
    if (
      signature(interfaces) === signature(this.#interfaces) &&
      signature(interfaces6) === signature(this.#interfaces6)
    ) {
      return;
    }
    this.#interfaces = interfaces;
    this.#interfaces6 = interfaces6;
    const names = new Set([...interfaces, ...interfaces6].map((i) => i.name));
    for (const { id, server } of this.#table.entries()) {
      const seen = server.addresses.map((a) => a.interface);
      if (seen.length > 0 && seen.every((name) => name !== undefined && !names.has(name))) {
        this.#down(id, 'interface-lost');
      }
    }
    const channels = await openChannels(this.#channelContext());
    const listeners = this.#listeners;
    if (this.#state !== 'running') {
      for (const channel of channels) void closeSocket(channel.socket);
      return;
    }
    const old = this.#channels;
    this.#channels = channels;
    for (const channel of old) void closeSocket(channel.socket);
    this.#listeners = [];
    for (const socket of listeners) void closeSocket(socket);
    if (this.#deps.watch) await this.#listen(this.#deps.watch);
    this.#sendPresence(performance.now());
  }

  /**
   * Whether an answer from a link-local `source` may claim `claimed`: an address inside an
   * on-link prefix of the interface it came in on. A server that listens on one address of its
   * link (a ULA) answers link-local requesters, as every group request is, from its link-local
   * address, and advertises that one address (docs/ipv6.md).
   */
  #onSameLink(source: string, claimed: string): boolean {
    const from = parseIPv6(source);
    const value = parseIPv6(claimed)?.value;
    if (!from || from.zone === undefined || value === undefined) return false;
    if (classifyIPv6(from.value) !== 'link-local') return false;
    return this.#interfaces6.some(
      (a) =>
        a.name === from.zone &&
        a.kind !== 'link-local' &&
        a.kind !== 'loopback' &&
        ipv6CidrContains(a.network, value),
    );
  }

  /**
   * The local interface a reply came in on, when known without asking the route: the channel's
   * own, the zone of a link-local source, or the interface whose prefix holds the source.
   */
  #interfaceOf(
    channel: Channel | undefined,
    source: string,
    zone: string | undefined,
  ): string | undefined {
    const own = channel?.iface?.name ?? channel?.link?.name;
    if (own !== undefined) return own;
    if (zone !== undefined) return zone;
    const ipv4 = parseIPv4(source);
    if (ipv4 !== undefined) return interfaceFor(ipv4, this.#interfaces)?.name;
    const parsed = parseIPv6(source);
    if (!parsed) return undefined;
    return this.#interfaces6.find(
      (a) =>
        a.kind !== 'loopback' &&
        a.kind !== 'link-local' &&
        ipv6CidrContains(a.network, parsed.value),
    )?.name;
  }

  /** A reply with the key but outside the window: traced every time, logged once a minute. */
  #reportStale(channel: string, remote: RemoteInfo, skewMs: number): void {
    const { address: from, port: fromPort } = remote;
    const windowMs = this.#settings.replayWindow;
    this.#deps.trace({ type: 'clock-skew', channel, from, fromPort, skewMs, windowMs });
    if (!skewNoticesFor(this.#deps.logger).allow(`${from}:${fromPort}`, performance.now())) return;
    const token = { kind: 'reply', from: `${from}:${fromPort}`, encrypted: true } as const;
    const protectionOptional = true; // only Fernet replies carry a time
    this.#deps.logger.warn(describeStaleToken({ ...token, skewMs, windowMs, protectionOptional }));
  }

  /**
   * The interface holding the local address of the route to `ip`, if any: asked once per
   * address and run, and given up after {@link LOOKUP_TIMEOUT_MS}.
   */
  #routeInterface(ip: string, ipv6: boolean): Promise<string | undefined> {
    const cached = this.#routes.get(ip);
    if (cached) return cached;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), LOOKUP_TIMEOUT_MS).unref();
    });
    const lookup = Promise.race([this.#askRoute(ip, ipv6), timeout]).finally(() =>
      clearTimeout(timer),
    );
    if (this.#routes.size < MAX_CACHED_ROUTES) this.#routes.set(ip, lookup);
    return lookup;
  }

  async #askRoute(ip: string, ipv6: boolean): Promise<string | undefined> {
    try {
      const local = await routeSourceAddress(ip, this.#deps.socketFactory, ipv6 ? 'udp6' : 'udp4');
      if (local === undefined) return undefined;
      if (!ipv6) return this.#interfaces.find((iface) => iface.address === local)?.name;
      const value = parseIPv6(local)?.value;
      return this.#interfaces6.find((a) => a.value === value)?.name;
    } catch {
      return undefined; // a tag is not worth losing the server over
    }
  }
}

/** An address without its zone, canonical (IPv6 per RFC 5952). */
function bareAddress(address: string): string {
  const parsed = parseIPv6(address);
  return parsed ? formatIPv6({ value: parsed.value, zone: undefined }) : address;
}

function isLinkLocal6(address: string): boolean {
  const parsed = parseIPv6(address);
  return parsed !== undefined && classifyIPv6(parsed.value) === 'link-local';
}

/**
 * Whether the run needs this host's IPv6 addresses: to choose links (broadcast on), or to tag
 * and rank answers from IPv6 targets. Listing them costs about 0.15 ms, a quarter of a warm
 * `discoverOne()` to an IPv4 target (docs/performance.md).
 */
function needsIPv6List(settings: DiscoverSettings): boolean {
  if (!usesIPv6(settings)) return false;
  if (settings.broadcast) return true;
  return settings.targets.some(
    (t) => t.kind === 'host' || t.addresses.some((address) => address.includes(':')),
  );
}

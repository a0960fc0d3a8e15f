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
import type { RemoteInfo } from 'node:dgram';
import { BoundedMap } from '../bounded-map.js';
import type { Clock } from '../clock.js';
import { type Logger, logSafely } from '../logger.js';
import {
  type InterfaceProvider,
  interfaceFor,
  type NetworkInterface,
} from '../network/interfaces.js';
import type { IPv6InterfaceAddress, IPv6InterfaceProvider } from '../network/interfaces6.js';
import { isLoopback, parseIPv4 } from '../network/ipv4.js';
import { classifyIPv6, ipv6CidrContains, parseIPv6 } from '../network/ipv6.js';
import { IPV4_GROUP } from '../network/multicast.js';
import { routeSourceAddress } from '../network/route.js';
import { closeSocket, type SocketFactory } from '../network/socket.js';
import { describeStaleToken, skewNoticesFor } from '../security/clock-skew.js';
import { normalizeServerAddress } from './addresses.js';
import {
  type Channel,
  type ChannelContext,
  nothingToSend,
  openChannels,
  usesIPv6,
} from './channels.js';
import type { DiscoverSettings } from './options.js';
import { DEFAULT_PRESENCE_TIMING, type PresenceTiming } from './presence.js';
import type { BelievedReply, ClientProtocol, PresenceQuery } from './protocol.js';
import { type RegistryHost, RegistryPath, type RegistrySource } from './registry-path.js';
import { Scanning } from './scanning.js';
import { retrySchedule } from './schedule.js';
import type { DownReason, Server, WatchEvent } from './server.js';
import { ServerTable, type Sighting } from './table.js';
import type { EndReason, ReplyOutcome, TraceFields } from './trace.js';
import { Verifying } from './verifying.js';
import { bareAddress, type WatchHost, Watching } from './watching.js';

const MAX_FOREIGN_WARNINGS = 3;
/** Route lookups (for a reply's interface) in flight at most; past it, a reply goes without. */
const MAX_LOOKUPS = 32;
/** Sources whose route lookup a run remembers. */
const MAX_CACHED_ROUTES = 256;
/** Registry addresses whose interface a run remembers (the latest; a registry may churn). */
const MAX_REGISTRY_INTERFACES = 4096;
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

/** How long a watcher's `up` for a server heard in a plain reply waits for its name. */
const NAME_WAIT_MS = 200;

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
  /** Set: the run also reads (watching: follows) a registry (docs/registry.md). */
  readonly registry?: RegistrySource | undefined;
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
  /** Set when the run watches: announcements, leases, refreshes, polls, goodbyes. */
  readonly #watching: Watching;
  /** Set when a registry is configured: its records are sightings `via: 'registry'`. */
  readonly #registry: RegistryPath | undefined;
  /** The subnet scan, when asked for (docs/beyond-one-lan.md). */
  readonly #scanning: Scanning;
  #deadline: NodeJS.Timeout | undefined;
  /** With `verify`: the servers that passed, those being checked, and the rechecks. */
  readonly #verifying: Verifying;
  /** Watching: new servers heard only in a plain reply so far, whose `up` waits for a name. */
  readonly #unnamed = new Set<number>();
  /** Replies waiting for a route lookup to learn their interface before being filed. */
  readonly #lookups = new Set<Promise<void>>();
  /** The interface of each address read from the registry (for re-filing it). */
  readonly #registryInterfaces = new BoundedMap<string, string>(MAX_REGISTRY_INTERFACES);
  /** Route lookups by source address, so that retries and floods ask once. */
  readonly #routes = new Map<string, Promise<string | undefined>>();
  #foreignWarnings = 0;
  /** Send failures already warned about (path and error code); later ones are debug lines. */
  readonly #sendFailures = new Set<string>();
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
    // Asking once, the run still hears announcements: a server that starts during it is found
    // (docs/presence.md), not only one that answers a request.
    this.#watching = new Watching(
      this.#watchHost(),
      deps.watch ?? {
        announcePort: settings.announcePort,
        timing: DEFAULT_PRESENCE_TIMING,
        interfacePollInterval: 0,
      },
      deps.watch !== undefined,
    );
    this.#registry = deps.registry && new RegistryPath(this.#registryHost(deps.registry));
    this.#scanning = new Scanning({
      ...this.#watchHost(),
      interfaces: () => this.#interfaces,
      found: () => this.#table.size,
      foundOnLan: () =>
        this.#table.servers().some((s) => s.addresses.some((a) => a.via !== 'registry')),
      deadline: (ms) => this.#setDeadline(ms),
    });
    this.#verifying = new Verifying({
      mode: settings.verify,
      server: (id) => this.#table.get(id),
      counts: () => !(this.#deps.watch && this.#state === 'ended'),
      running: () => this.#state === 'running',
      passed: (server) => this.#up(server),
      failed: (id) => {
        this.#watching.forget(id);
        this.#table.remove(id);
      },
      unreachable: (id) => this.#down(id, 'unreachable'),
      track: (work) => this.#track(work),
      unexpected: (doing, error) => this.#unexpected(doing, error),
    });
  }

  /**
   * Every server heard so far (with `verify`, that passed), each once with all its addresses, in
   * the order first heard.
   */
  servers(): Server[] {
    if (!this.#settings.verify) return this.#table.servers();
    return this.#table
      .entries()
      .filter(({ id }) => this.#verifying.shown(id))
      .map(({ server }) => server);
  }

  /**
   * Watching: every server there, with when it was first and last heard (`performance.now()`
   * milliseconds).
   */
  watched(): { server: Server; since: number; lastSeen: number }[] {
    const shown = this.#table.entries().filter(({ id }) => this.#verifying.shown(id));
    return shown.map(({ id, server }) => {
      // Heard on the LAN, held by the registry, or both: the earliest and the latest.
      const paths = [this.#watching.seen(id), this.#registry?.seen(server.metadata?.instanceId)];
      const known = paths.filter((seen) => seen !== undefined);
      const since = known.length > 0 ? Math.min(...known.map((seen) => seen.since)) : 0;
      const lastSeen = known.length > 0 ? Math.max(...known.map((seen) => seen.last)) : 0;
      return { server, since, lastSeen };
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
    if (!watch) this.#setDeadline(this.#settings.timeout);
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    void this.#registry?.start(); // in parallel with the LAN; never rejects
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
    if (opened.length === 0 && this.#registry) {
      // The registry is the run's only path: it ends when the registry was read (asking once).
      this.#log('debug', 'No LAN path: asking the registry only');
      if (this.#registry.done && !this.#deps.watch) this.#end('registry-read');
      return;
    }
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
    this.#scanning.start();
    await this.#watching.start();
    if (this.#deps.watch) this.#verifying.recheckEvery(this.#deps.watch.timing.pollInterval);
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
      scanDestinations: this.#scanning.destinations,
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
    this.#verifying.stop();
    clearTimeout(this.#deadline);
    this.#watching.stop();
    this.#registry?.stop(reason === 'deadline');
    this.#scanning.stop();
    for (const channel of this.#channels) void closeSocket(channel.socket);
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
            // Once per path and error: a watcher sends for hours (a firewall's EPERM each round).
            const said = `${channel.label} ${to} ${(error as NodeJS.ErrnoException).code}`;
            const first = this.#sendFailures.size < 256 && !this.#sendFailures.has(said);
            if (first) this.#sendFailures.add(said);
            this.#log(group || !first ? 'debug' : 'warn', text);
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
    if (channel.via === 'scan') this.#scanning.replied(reply, remote);
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
    const scanned = channel?.via === 'scan' ? this.#scanning.sentAt(source) : undefined;
    const sentAt = reply.sentAt ?? scanned ?? channel?.lastSend;
    const rtt =
      sentAt === undefined ? undefined : Math.round((performance.now() - sentAt) * 100) / 100;
    const zone = remote.address.split('%')[1] ?? channel?.link?.name;
    const linkLocal = reply.family === 'IPv6' && isLinkLocal6(reply.ip);
    if (linkLocal && zone === undefined) return traced('malformed', key); // cannot be reached
    const claimed = normalizeServerAddress(linkLocal ? `${reply.ip}%${zone}` : reply.ip);
    // Kept as foreign or not, `::`, multicast or 0.0.0.0 cannot be a server's address.
    if (!claimed) return traced('malformed', key);
    const { address } = claimed;
    const via = channel?.via ?? (source.includes(':') ? 'multicast' : 'broadcast');
    const sighting = (iface: string | undefined): Sighting => ({
      address: { address, family: claimed.family, interface: iface, rtt, via },
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
    this.#track(
      this.#routeInterface(remote.address, source.includes(':'))
        .then((name) => this.#file(sighting(name), key, traced, reply.lease))
        .catch((error: unknown) => this.#unexpected('filing a reply', error)),
    );
  }

  /** Keeps the results open until `work` (a route lookup, a check) settles; never rejects. */
  #track(work: Promise<void>): void {
    const tracked = work.finally(() => {
      this.#lookups.delete(tracked);
      this.#wake();
    });
    this.#lookups.add(tracked);
  }

  /**
   * Files a believed reply in the table; a new server goes to the consumer. Past `maxResults`
   * (a reply whose route lookup ended after the run did) it may only join a known server.
   */
  #file(
    sighting: Sighting | readonly Sighting[],
    key: string,
    traced: (outcome: ReplyOutcome, claims?: string) => void,
    lease: number | undefined,
  ) {
    const watching = this.#deps.watch !== undefined;
    if (watching && this.#state === 'ended') return traced('too-late', key);
    const full = this.#table.size >= this.#settings.maxResults;
    const sightings = 'address' in sighting ? [sighting] : sighting;
    const filed = this.#table.addAll(sightings, !full);
    if (filed.outcome === 'refused') return traced('too-late', key);
    const metadata = sightings[0]?.metadata;
    // Only what came over the LAN keeps the LAN's presence; the registry holds its own.
    if (sightings[0]?.address.via !== 'registry') {
      this.#watching.heard(filed.id, lease, metadata !== undefined);
    }
    const verifying = this.#verifying.pending(filed.id);
    if (filed.outcome !== 'new') {
      traced(filed.outcome === 'new-address' ? 'merged' : 'duplicate', key);
      if (this.#unnamed.delete(filed.id))
        this.#up(filed.server()); // now with its name
      else if (watching && filed.outcome !== 'duplicate' && !verifying) {
        this.#emit({ type: 'update', server: filed.server() });
      }
      return;
    }
    traced('accepted', key);
    if (verifying) this.#verifying.check(filed.id);
    else if (watching && metadata === undefined && this.#settings.identify) {
      // A plain reply is first: the extended answer that names the server comes a moment later
      // (both were asked at once). A watcher's `up` waits for it, briefly, rather than report a
      // nameless server and then an `update`.
      const { id } = filed;
      this.#unnamed.add(id);
      this.#later(NAME_WAIT_MS, () => {
        const server = this.#unnamed.delete(id) ? this.#table.get(id) : undefined;
        if (server) this.#up(server); // an original server: no name will come
      });
    } else this.#up(filed.server());
  }

  #up(server: Server): void {
    this.#emit({ type: 'up', server });
    const reported = this.#settings.verify ? this.#verifying.passedCount : this.#table.size;
    if (!this.#deps.watch && reported >= this.#settings.maxResults) this.#end('max-results');
  }

  #emit(event: WatchEvent): void {
    this.#queue.push(event);
    this.#wake();
  }

  /** Ends the run `ms` from now (`Infinity`: not until set again). */
  #setDeadline(ms: number): void {
    clearTimeout(this.#deadline);
    if (ms === Number.POSITIVE_INFINITY || this.#state === 'ended') return;
    this.#deadline = setTimeout(() => this.#end('deadline'), Math.max(0, ms));
  }

  /** Runs `fn` after `ms`, unless the run ends first. */
  #later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
  }

  /** What the watching part may use of this run. */
  #watchHost(): WatchHost {
    return {
      settings: this.#settings,
      protocol: this.#protocol,
      deps: this.#deps,
      running: () => this.#state === 'running',
      table: () => this.#table,
      interfaces: () => ({ ipv4: this.#interfaces, ipv6: this.#interfaces6 }),
      channels: () => this.#channels,
      reopen: async (ipv4, ipv6) => {
        this.#interfaces = ipv4;
        this.#interfaces6 = ipv6;
        const channels = await openChannels(this.#channelContext());
        if (this.#state !== 'running') {
          for (const channel of channels) void closeSocket(channel.socket);
          return false;
        }
        const old = this.#channels;
        this.#channels = channels;
        for (const channel of old) void closeSocket(channel.socket);
        return true;
      },
      send: (presence) => this.#send(++this.#round, presence),
      believe: (reply, remote, traced) => this.#believe(reply, remote, undefined, traced),
      tracer: (label, message, remote) => this.#tracer(label, message, remote),
      down: (id, reason) => this.#lost(id, reason, 'lan'),
      later: (ms, fn) => this.#later(ms, fn),
      guarded: (doing, fn) => this.#guarded(doing, fn),
      log: (level, text) => this.#log(level, text),
    };
  }

  /** What the registry path may use of this run. */
  #registryHost(source: RegistrySource): RegistryHost {
    return {
      watching: this.#deps.watch !== undefined,
      service: this.#settings.service,
      endpoint: this.#settings.registry?.display ?? 'the registry',
      family: this.#settings.family,
      timeout: this.#settings.timeout,
      open: () => source.open(),
      decode: (key, value) => source.decode(key, value),
      file: (key, sightings) => this.#fromRegistry(key, sightings),
      moved: (instanceId, keep) => {
        const id = this.#table.idOf(instanceId);
        const stale = (s: Sighting) => s.address.via === 'registry' && !keep.has(s.address.address);
        if (id !== undefined && this.#table.prune(id, (s) => !stale(s))) this.#updated(id);
      },
      lost: (instanceId, reason) => {
        const id = this.#table.idOf(instanceId);
        if (id !== undefined) this.#lost(id, reason, 'registry');
      },
      read: () => {
        if (this.#state === 'running' && this.#channels.length === 0) this.#end('registry-read');
      },
      log: (level, text) => this.#log(level, text),
      trace: (event) => this.#traceRegistry(event),
    };
  }

  #traceRegistry(event: {
    action: Extract<TraceFields, { type: 'registry' }>['action'];
    key?: string | undefined;
    outcome?: ReplyOutcome | undefined;
    claims?: string | undefined;
    detail?: string | undefined;
  }): void {
    const registry = this.#settings.registry?.display ?? 'registry';
    const { action, key, outcome, claims, detail } = event;
    this.#deps.trace({ type: 'registry', action, registry, key, outcome, claims, detail });
  }

  /**
   * Files the sightings of one registry record once each address's interface is known (as for
   * a unicast target: the route to it).
   */
  #fromRegistry(recordKey: string, sightings: readonly Sighting[]): void {
    const key = sightings.map((s) => s.address.address).join(' ');
    const traced = (outcome: ReplyOutcome, claims?: string) =>
      this.#traceRegistry({ action: 'record', key: recordKey, outcome, claims });
    const withInterface = (s: Sighting, iface: string | undefined): Sighting => {
      if (iface !== undefined) this.#registryInterfaces.set(s.address.address, iface);
      return { ...s, address: { ...s.address, interface: iface } };
    };
    const pending = sightings.map((s) => {
      const { address, family } = s.address;
      const known = this.#interfaceOf(undefined, address, undefined);
      if (known !== undefined || this.#lookups.size >= MAX_LOOKUPS) return known;
      return this.#routeInterface(address, family === 'IPv6');
    });
    if (pending.every((p) => typeof p !== 'object')) {
      const names = pending as (string | undefined)[];
      this.#file(
        sightings.map((s, i) => withInterface(s, names[i])),
        key,
        traced,
        undefined,
      );
      return;
    }
    const lookup = Promise.all(pending)
      .then((names) =>
        this.#file(
          sightings.map((s, i) => withInterface(s, names[i])),
          key,
          traced,
          undefined,
        ),
      )
      .catch((error: unknown) => this.#unexpected('filing a registry record', error));
    this.#track(lookup);
  }

  /**
   * One path (the LAN, or the registry) lost server `id`. It goes `down` when the other path
   * does not hold it, or at once on a goodbye (the server said it stops) or a failed `verify`;
   * else it stays up at the other path's addresses (an `update`). docs/registry.md.
   */
  #lost(id: number, reason: DownReason, path: 'lan' | 'registry'): void {
    const server = this.#table.get(id);
    const instanceId = server?.metadata?.instanceId;
    const held =
      path === 'lan' ? this.#registry?.holds(instanceId) === true : this.#watching.holds(id);
    if (!server || !held || reason === 'goodbye' || reason === 'unreachable') {
      this.#down(id, reason);
      return;
    }
    const fromRegistry = (s: Sighting) => s.address.via === 'registry';
    let changed: boolean;
    if (path === 'lan') {
      this.#watching.forget(id);
      const instead = (this.#registry?.sightingsOf(instanceId) ?? []).map((s) => ({
        ...s,
        address: { ...s.address, interface: this.#registryInterfaces.get(s.address.address) },
      }));
      changed = this.#table.prune(id, fromRegistry, instead);
    } else {
      changed = this.#table.prune(id, (s) => !fromRegistry(s));
    }
    if (changed) this.#updated(id);
  }

  /** Reports server `id` changed, if it was reported up. */
  #updated(id: number): void {
    const server = this.#table.get(id);
    const reported = this.#verifying.shown(id);
    if (server && reported && !this.#unnamed.has(id) && this.#deps.watch) {
      this.#emit({ type: 'update', server });
    }
  }

  /** Removes server `id` and reports it `down` (if it had been reported up). */
  #down(id: number, reason: DownReason): void {
    this.#watching.forget(id);
    this.#unnamed.delete(id);
    const server = this.#table.remove(id);
    const reported = this.#verifying.forget(id);
    if (server && reported) this.#emit({ type: 'down', server, reason });
  }

  /** Socket events and timers call user code: nothing they throw may escape. */
  #guarded(doing: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.#unexpected(doing, error);
    }
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
    if (ipv4 !== undefined && isLoopback(ipv4)) {
      return this.#interfaces.find((iface) => iface.loopback)?.name; // no route to ask
    }
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

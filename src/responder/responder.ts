import type { RemoteInfo, Socket, SocketOptions } from 'node:dgram';
import { EventEmitter } from 'node:events';
import type { Clock } from '../clock.js';
import { BeckonError, BindError, SocketError } from '../errors.js';
import { debugLogger, gateLogger, type Logger } from '../logger.js';
import { InterfaceCache } from '../network/interface-cache.js';
import { listInterfaces, type NetworkInterface } from '../network/interfaces.js';
import { type IPv6InterfaceAddress, listIPv6Interfaces } from '../network/interfaces6.js';
import type { Cidr } from '../network/ipv4.js';
import { isLoopback, parseIPv4 } from '../network/ipv4.js';
import { classifyIPv6, type IPv6Cidr, parseIPv6 } from '../network/ipv6.js';
import { IPV4_GROUP, IPV6_GROUP } from '../network/multicast.js';
import { routeSourceAddress } from '../network/route.js';
import {
  closeSocket,
  createUdpSocket,
  literalLookup,
  type SocketFactory,
} from '../network/socket.js';
import { isExtended } from '../protocol/extended.js';
import {
  type DropEvent,
  type DropReason,
  type ReplyEvent,
  type Responder,
  type ResponderEvents,
  responderChannel,
} from './events.js';
import { GroupMemberships, groupTargets4, groupTargets6 } from './group-memberships.js';
import { Backoff, Serial } from './lifecycle.js';
import {
  amplificationWarning,
  type ResponderOptions,
  type ResponderSettings,
  resolveResponderSettings,
} from './options.js';
import { type AcceptedRequest, DROP_REASON_OF, ResponderProtocol } from './protocol.js';
import { RateLimiter } from './rate-limit.js';
import { rateLimitKey } from './rate-limit-key.js';
import { RefusalLog } from './refusal-log.js';
import { judgeSender, replyAddressFor } from './sender-policy.js';
import { judgeSender6, replyAddressFor6 } from './sender-policy6.js';
import { WorkerResponder } from './worker.js';

const INTERFACE_MAX_AGE_MS = 250;
const MAX_CACHED_DECISIONS = 4096;
const MAX_DELAYED_REPLIES = 4096;

/**
 * Creates a responder. Nothing is bound until {@link Responder.start}.
 *
 * @throws {InvalidOptionError} at once for any invalid option or environment variable.
 * @example
 * const responder = createResponder({ httpPort: 8080 });
 * await responder.start();
 */
export function createResponder(options: ResponderOptions = {}): Responder {
  return options.worker === true ? new WorkerResponder(options) : new DiscoveryResponder(options);
}

class DiscoveryResponder extends EventEmitter<ResponderEvents> implements Responder {
  readonly settings: ResponderSettings;
  readonly #allow: Cidr[];
  readonly #allow6: IPv6Cidr[];
  readonly #protocol: ResponderProtocol;
  readonly #logger: Logger;
  readonly #socketFactory: SocketFactory;
  readonly #interfaces: InterfaceCache;
  readonly #limiter: RateLimiter;
  readonly #clock: Clock;
  readonly #refusals: RefusalLog;
  readonly #signal: AbortSignal | undefined;
  // Advertised to every requester when set: the configured address, or a specific bind address.
  readonly #fixedAddress: string | undefined;
  // The IPv4 socket; absent when `family` is 'IPv6'.
  #socket: Socket | undefined;
  // The IPv6 socket (ipv6Only, on [::] and the same port), for extended requests; absent when
  // `family` is 'IPv4', `bindAddress` is not 0.0.0.0, or the host has no IPv6.
  #socket6: Socket | undefined;
  readonly #interfaces6: InterfaceCache<IPv6InterfaceAddress>;
  // Group memberships of each socket; none for an IPv4 socket bound to a unicast address.
  #groups: GroupMemberships | undefined;
  #groups6: GroupMemberships | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #port: number | undefined;
  #started = false;
  // Bumped by every start and stop, so that a reopen begun earlier never touches a newer socket.
  #generation = 0;
  // start() and stop() run one after the other, in call order.
  readonly #lifecycle = new Serial();
  readonly #reopen = new Backoff();
  readonly #reopen6 = new Backoff();
  // Per-source decision (the address to advertise, or why not), one cache per family.
  readonly #decisions = new DecisionCache<NetworkInterface>();
  readonly #decisions6 = new DecisionCache<IPv6InterfaceAddress>();
  // Replies waiting for their jitter delay.
  readonly #delayed = new Set<NodeJS.Timeout>();

  constructor(options: ResponderOptions) {
    super();
    const { allowCidrs, allowCidrs6, secrets, clock, ...settings } =
      resolveResponderSettings(options);
    this.settings = settings;
    this.#clock = clock;
    this.#allow = allowCidrs;
    this.#allow6 = allowCidrs6;
    this.#protocol = new ResponderProtocol(settings, secrets);
    this.#logger = gateLogger(options.logger ?? debugLogger, settings.logging);
    this.#socketFactory = options.socketFactory ?? createUdpSocket;
    this.#interfaces = new InterfaceCache(
      options.interfaceProvider ?? listInterfaces,
      INTERFACE_MAX_AGE_MS,
    );
    this.#interfaces6 = new InterfaceCache(
      options.interfaceProvider6 ?? listIPv6Interfaces,
      INTERFACE_MAX_AGE_MS,
    );
    this.#limiter = new RateLimiter(settings.rateLimit);
    this.#refusals = new RefusalLog({
      settings,
      logger: this.#logger,
      warn: (warning) => this.#warn(warning),
    });
    this.#signal = options.signal;
    this.#fixedAddress =
      settings.advertiseAddress ??
      (settings.bindAddress !== '0.0.0.0' ? settings.bindAddress : undefined);
    this.#signal?.addEventListener('abort', () => void this.stop(), { once: true });
  }

  get port(): number | undefined {
    return this.#started ? this.#port : undefined;
  }

  get listening(): boolean {
    return this.#started;
  }

  start(options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.#lifecycle.run(async () => {
      if (this.#started) return;
      if (this.#signal?.aborted) throw this.#signal.reason;
      const { socket, socket6, port } = await this.#bindSockets(options.signal);
      this.#generation++;
      this.#started = true;
      this.#port = port;
      this.#install(socket, false);
      this.#install(socket6, true);
      if (socket) this.#logger.info(`UDP discovery responder listening on port ${port}`);
      if (socket6) {
        const also = socket ? 'Also answering' : 'Answering';
        this.#logger.info(`${also} extended requests over IPv6 on [::]:${port}`);
      }
      if (socket && !this.#groups && this.settings.joinGroups) {
        this.#logger.info(
          `Bound to ${this.settings.bindAddress}: not joining group ${IPV4_GROUP}, which a socket bound to a unicast address does not receive on Linux`,
        );
      }
      const amplification = amplificationWarning(this.settings);
      if (amplification) this.#warn(new BeckonError('BECKON_ERR_AMPLIFICATION', amplification));
      this.#syncGroups();
      const every = this.settings.interfacePollInterval;
      if (every > 0 && (this.#groups || this.#groups6))
        this.#pollTimer = setInterval(() => this.#syncGroups(), every).unref();
      this.emit('listening', { address: this.#listeningAddress(), port });
    });
  }

  stop(): Promise<void> {
    return this.#lifecycle.run(async () => {
      if (!this.#started) return;
      this.#generation++;
      this.#started = false;
      this.#reopen.cancel();
      this.#reopen6.cancel();
      clearInterval(this.#pollTimer);
      this.#pollTimer = undefined;
      this.#groups = undefined;
      this.#groups6 = undefined;
      for (const timer of this.#delayed) clearTimeout(timer);
      this.#delayed.clear();
      this.#refusals.close();
      const socket = this.#socket;
      const socket6 = this.#socket6;
      this.#socket = undefined;
      this.#socket6 = undefined;
      await Promise.all([closeSocket(socket), closeSocket(socket6)]);
      this.#logger.info('UDP discovery responder stopped');
      this.emit('close');
    });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  #listeningAddress(): string {
    return this.settings.family === 'IPv6' ? '::' : this.settings.bindAddress;
  }

  /**
   * Binds the sockets `family` asks for: IPv4 (whose failure fails the start) and, on the port it
   * got, IPv6 (whose failure is a warning), or with `'IPv6'` the IPv6 socket alone (fatal).
   */
  async #bindSockets(
    signal: AbortSignal | undefined,
  ): Promise<{ socket?: Socket | undefined; socket6?: Socket | undefined; port: number }> {
    if (this.settings.family === 'IPv6') {
      const socket6 = await this.#bind(this.settings.port, signal, 'udp6');
      return { socket6, port: socket6.address().port };
    }
    const socket = await this.#bind(this.settings.port, signal);
    const port = socket.address().port;
    if (this.settings.family === 'IPv4' || this.settings.bindAddress !== '0.0.0.0') {
      return { socket, port };
    }
    try {
      return { socket, socket6: await this.#bindIPv6(port, signal), port };
    } catch (error) {
      await closeSocket(socket); // aborted while binding IPv6
      throw error;
    }
  }

  /**
   * Makes `socket` the current socket of its family, with fresh group memberships (a new socket
   * has none), unless `joinGroups` is off. On Linux a socket bound to one unicast address never
   * receives group traffic, so such an IPv4 socket joins nothing.
   */
  #install(socket: Socket | undefined, ipv6: boolean): void {
    const report = {
      debug: (message: string) => this.#logger.debug(message),
      warn: (error: BeckonError) => this.#warn(error),
    };
    const { joinGroups, bindAddress } = this.settings;
    if (ipv6) {
      this.#socket6 = socket;
      this.#groups6 =
        socket && joinGroups ? new GroupMemberships(socket, IPV6_GROUP, report) : undefined;
      return;
    }
    this.#socket = socket;
    const joins = socket !== undefined && joinGroups && bindAddress === '0.0.0.0';
    this.#groups = joins ? new GroupMemberships(socket, IPV4_GROUP, report) : undefined;
  }

  /**
   * Joins the groups on interfaces that appeared and leaves those that went away: at start,
   * after a socket was reopened, and every `interfacePollInterval`. An IPv6 interface that is
   * no longer listed at all cannot be named to leave (see {@link GroupMemberships.update}).
   */
  #syncGroups(): void {
    try {
      this.#groups?.update(groupTargets4(this.#interfaces.get()));
      if (this.#groups6) {
        const interfaces6 = this.#interfaces6.get();
        const listed = new Set(interfaces6.map((iface) => iface.name));
        this.#groups6.update(groupTargets6(interfaces6), (name) => listed.has(name));
      }
    } catch (error) {
      // An injected interface provider that throws must not take the host down from a timer.
      this.#warn(new SocketError(`Reading the interfaces failed: ${String(error)}`, error));
    }
  }

  /**
   * Binds the IPv6 socket on `port`, or warns (once per start) and returns undefined: a host
   * without IPv6 (EAFNOSUPPORT, EADDRNOTAVAIL) or a port taken on IPv6 only never stops the
   * IPv4 responder. An abort still rejects.
   */
  async #bindIPv6(port: number, signal?: AbortSignal): Promise<Socket | undefined> {
    try {
      return await this.#bind(port, signal, 'udp6');
    } catch (error) {
      if (signal?.aborted) throw error;
      const code = (error as BeckonError).cause as NodeJS.ErrnoException | undefined;
      const unavailable = code?.code === 'EAFNOSUPPORT' || code?.code === 'EADDRNOTAVAIL';
      const text = error instanceof Error ? error.message : String(error);
      this.#warn(
        new SocketError(
          unavailable
            ? `IPv6 is not available on this host (${code?.code}); answering on IPv4 only`
            : `Could not listen on IPv6, answering on IPv4 only: ${text}`,
          error,
        ),
      );
      return undefined;
    }
  }

  /** Binds a new socket that answers requests; the caller decides whether to keep it. */
  #bind(port: number, signal?: AbortSignal, type: 'udp4' | 'udp6' = 'udp4'): Promise<Socket> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const bindAddress = type === 'udp6' ? '::' : this.settings.bindAddress;
    // ipv6Only: a dual-stack socket cannot share the port with the IPv4 one (EADDRINUSE), and
    // IPv4 keeps its own socket and behaviour (test/network/dual-stack-bind.test.ts).
    const socket = this.#socketFactory(
      type === 'udp6'
        ? { type, ipv6Only: true, reuseAddr: false, lookup: literalLookup6 }
        : { type, reuseAddr: false, lookup: literalLookup },
    );
    return new Promise<Socket>((resolve, reject) => {
      const onAbort = () => {
        void closeSocket(socket);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        signal?.removeEventListener('abort', onAbort);
        void closeSocket(socket);
        reject(new BindError(port, bindAddress, error));
      });
      socket.on('message', (message, remote) =>
        this.#onMessage(socket, message, remote, type === 'udp6'),
      );
      // exclusive: a cluster worker binds its own socket instead of sharing the primary's, so
      // a second responder on the port fails loudly (the original shared it silently).
      socket.bind({ port, address: bindAddress, exclusive: true }, () => {
        signal?.removeEventListener('abort', onAbort);
        socket.removeAllListeners('error');
        socket.on('error', (error) => this.#onSocketError(socket, error));
        resolve(socket);
      });
    });
  }

  /**
   * A running socket failed: warn, close it and bind a fresh one on the same port, backing off
   * while that fails. The return of the socket the responder listens on (IPv4, or IPv6 with
   * `family: 'IPv6'`) is announced as `listening`; the fresh socket joins the groups again.
   */
  #onSocketError(socket: Socket, error: Error): void {
    const ipv6 = socket === this.#socket6;
    if (!ipv6 && socket !== this.#socket) return;
    const family = ipv6 ? 'IPv6 discovery socket' : 'Discovery socket';
    this.#warn(new SocketError(`${family} error, reopening it: ${error.message}`, error));
    this.#install(undefined, ipv6);
    void closeSocket(socket);
    const generation = this.#generation;
    const port = this.#port ?? this.settings.port;
    (ipv6 ? this.#reopen6 : this.#reopen).retry(
      () => this.#bind(port, undefined, ipv6 ? 'udp6' : 'udp4'),
      {
        current: () => this.#started && generation === this.#generation,
        succeeded: (fresh) => {
          this.#install(fresh, ipv6);
          this.#syncGroups();
          if (ipv6 && this.settings.family !== 'IPv6') return;
          this.emit('listening', { address: this.#listeningAddress(), port: this.#port ?? 0 });
        },
        discard: (fresh) => void closeSocket(fresh),
        failed: (failure) => this.#warn(failure as BeckonError),
      },
    );
  }

  #isCurrent(socket: Socket): boolean {
    return socket === this.#socket || socket === this.#socket6;
  }

  /**
   * A datagram on either socket. On the IPv6 socket only extended requests are answered: the
   * plain format (and the Fernet tokens that wrap it) carries an IPv4 address only, so they are
   * dropped as `not-a-request` before any content check; senders there are judged by the IPv6
   * policy and rate limited per /64 (link-local: per address and interface).
   */
  #onMessage(socket: Socket, message: Buffer, remote: RemoteInfo, ipv6: boolean): void {
    try {
      // The sender first: requests from senders this responder never answers (off-link, public)
      // are noise to it, kept out of the refusal summaries and skew warnings.
      const decision = ipv6 ? this.#decide6(remote.address) : this.#decide(remote.address);
      if (decision === 'invalid-source' || decision === 'public' || decision === 'off-link') {
        this.#drop(remote, decision);
        return;
      }
      if (ipv6 && !isExtended(message)) {
        this.#drop(remote, 'not-a-request');
        return;
      }
      const request = this.#protocol.accept(message, this.#clock.now());
      if ('refusal' in request) {
        const { refusal, skewMs } = request;
        this.#refusals.refused(refusal, remote.address, skewMs);
        this.#drop(remote, DROP_REASON_OF[refusal], skewMs);
        return;
      }
      const bucket = ipv6 ? rateLimitKey(remote.address) : remote.address;
      if (ipv6 && request.kind !== 'extended') this.#drop(remote, 'not-a-request');
      else if (typeof decision === 'string') this.#drop(remote, decision);
      else if (!this.#limiter.take(bucket)) this.#drop(remote, 'rate-limited');
      else if (decision) this.#send(socket, remote, request, decision.address);
      else
        this.#replyViaRoute(socket, remote, request).catch((error: unknown) =>
          this.#warn(new SocketError(`Reply via route failed: ${String(error)}`, error)),
        );
    } catch (error) {
      // Nothing a datagram contains may take the host process down.
      this.#warn(new SocketError(`Unexpected error handling a datagram: ${String(error)}`, error));
    }
  }

  /**
   * The address to advertise to `source`, why it gets no reply, or undefined when the route must
   * be asked. Cached per source until the interface list changes, and bounded in size.
   */
  #decide(source: string): Decision | undefined {
    const interfaces = this.#interfaces.get();
    return this.#decisions.get(interfaces, source, () => {
      const verdict = judgeSender(source, interfaces, this.#allow);
      if (!verdict.allowed) return verdict.reason;
      return this.#advertise(
        this.#fixedAddress ?? replyAddressFor(source, interfaces, this.settings.serviceAddress),
      );
    });
  }

  /** {@link #decide} for an IPv6 source: the IPv6 sender policy and reply address. */
  #decide6(source: string): Decision | undefined {
    const interfaces = this.#interfaces6.get();
    return this.#decisions6.get(interfaces, source, () => {
      const verdict = judgeSender6(source, { interfaces, allow: this.#allow6 });
      if (!verdict.allowed)
        return verdict.reason === 'other-interface' ? 'off-link' : verdict.reason;
      // Where several local addresses qualify (a stable and a temporary SLAAC address), the one
      // the service listens on. `advertiseAddress` is IPv4: an IPv6 requester would drop it as
      // foreign, so it gets this host's IPv6 address toward it instead.
      const preferred = this.settings.serviceAddress;
      return this.#advertise(replyAddressFor6(source, interfaces, preferred));
    });
  }

  /** An allowed requester's decision: `address` if this responder serves it; undefined: ask the route. */
  #advertise(address: string | undefined): Decision | undefined {
    if (address === undefined) return undefined;
    return this.#serves(address) ? { address } : 'unreachable';
  }

  /** For an allowed requester outside every local subnet, advertise what the route uses. */
  async #replyViaRoute(
    socket: Socket,
    remote: RemoteInfo,
    request: AcceptedRequest,
  ): Promise<void> {
    const ipv6 = socket === this.#socket6;
    const address = await routeSourceAddress(
      remote.address,
      this.#socketFactory,
      ipv6 ? 'udp6' : 'udp4',
    );
    if (!this.#isCurrent(socket)) return; // stopped or reopened meanwhile
    if (address === undefined || !isRoutableLocal(address, ipv6)) {
      this.#drop(remote, 'no-address');
    } else if (!this.#serves(address)) {
      this.#drop(remote, 'unreachable');
    } else {
      this.#send(socket, remote, request, address);
    }
  }

  /**
   * Whether the service can be reached at `address`: always, unless it listens on one address
   * only. A configured `advertiseAddress` is the user's word for where it is reached (a proxy,
   * a NAT), so it is not second-guessed.
   */
  #serves(address: string): boolean {
    const only = this.settings.serviceAddress;
    return only === undefined || only === address || this.settings.advertiseAddress !== undefined;
  }

  #send(socket: Socket, remote: RemoteInfo, request: AcceptedRequest, address: string): void {
    const [min, max] = this.settings.replyJitter;
    if (max === 0) {
      this.#transmit(socket, remote, request, address);
      return;
    }
    // Bounded: under a flood from many sources, replies beyond the cap are dropped, not queued.
    if (this.#delayed.size >= MAX_DELAYED_REPLIES) {
      this.#drop(remote, 'rate-limited');
      return;
    }
    const timer = setTimeout(
      () => {
        this.#delayed.delete(timer);
        if (this.#isCurrent(socket)) this.#transmit(socket, remote, request, address);
      },
      min + Math.random() * (max - min),
    ).unref();
    this.#delayed.add(timer);
  }

  #transmit(socket: Socket, remote: RemoteInfo, request: AcceptedRequest, address: string): void {
    const reply = this.#protocol.answer(request, address, this.#clock.now());
    socket.send(reply, remote.port, remote.address, this.#onSent);
    if (this.listenerCount('reply') > 0 || responderChannel.hasSubscribers) {
      const event: ReplyEvent = {
        to: remote.address,
        toPort: remote.port,
        address,
        kind: request.kind,
        reply: this.#protocol.describe(request, address),
        bytes: reply.byteLength,
      };
      this.emit('reply', event);
      responderChannel.publish({ type: 'reply', port: this.#port, ...event });
    }
  }

  // One callback for every send, not a closure per datagram; dgram's error names the address.
  readonly #onSent = (error: Error | null): void => {
    if (error) this.#warn(new SocketError(`Reply failed: ${error.message}`, error));
  };

  #drop(remote: RemoteInfo, reason: DropReason, skewMs?: number): void {
    if (this.listenerCount('drop') > 0 || responderChannel.hasSubscribers) {
      const event: DropEvent = {
        from: remote.address,
        fromPort: remote.port,
        reason,
        ...(skewMs === undefined ? {} : { skewMs }),
      };
      this.emit('drop', event);
      responderChannel.publish({ type: 'drop', port: this.#port, ...event });
    }
  }

  #warn(error: BeckonError): void {
    this.#logger.warn(error.message);
    this.emit('warning', error);
  }
}

/** What a requester gets: the address to advertise to it, or why it gets no reply. */
type Decision = { readonly address: string } | DropReason;

/**
 * Decisions per source, valid for one interface snapshot (a new snapshot clears them), and
 * bounded in size. An undefined decision (ask the route) is not kept.
 */
class DecisionCache<I> {
  #decisions = new Map<string, Decision>();
  #snapshot: readonly I[] | undefined;

  get(snapshot: readonly I[], source: string, decide: () => Decision | undefined) {
    if (snapshot !== this.#snapshot || this.#decisions.size >= MAX_CACHED_DECISIONS) {
      this.#decisions.clear();
      this.#snapshot = snapshot;
    }
    const cached = this.#decisions.get(source);
    if (cached !== undefined) return cached;
    const decision = decide();
    if (decision !== undefined) this.#decisions.set(source, decision);
    return decision;
  }
}

/** Whether `address` (from a route lookup) can be advertised: not unspecified, not loopback. */
function isRoutableLocal(address: string, ipv6: boolean): boolean {
  if (!ipv6) {
    const ip = parseIPv4(address);
    return ip !== undefined && ip !== 0 && !isLoopback(ip);
  }
  const parsed = parseIPv6(address);
  if (!parsed) return false;
  const kind = classifyIPv6(parsed.value);
  return kind === 'global' || kind === 'unique-local';
}

/** {@link literalLookup} for the IPv6 socket: requesters' addresses are IPv6 literals. */
const literalLookup6: NonNullable<SocketOptions['lookup']> = (address, _options, callback) =>
  callback(null, address, 6);
